"""Console sign-in sessions, kept on the server: the browser holds only a random id in an HttpOnly
cookie, never the access token, so no script on the page can read or send it elsewhere.

Sessions live in the gateway's database (in Redis when `ZHENGBAN_REDIS_URL` is set), so every
gateway replica knows them, they outlive a restart, and signing out deletes them everywhere. Only
a hash of the id is stored: whoever reads the table cannot sign in with what they read.

Each console request works on one session in memory and writes it back once, before its response
starts (`ConsoleSessionsMiddleware`): the pages read and change it synchronously, and a change made
while answering one request (a flash message, a sign-in) is stored before the browser can ask the
next replica for the page it is redirected to.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.models import ConsoleSessionRecord
from kernel.auth import may_act
from kernel.db import Database

IDLE_SECONDS = 30 * 60
# How stale `last_seen` may be in the store before a page view writes it back: an idle timeout
# a minute late is harmless, a write on every page view is not free.
TOUCH_SECONDS = 60


@dataclass
class ConsoleSession:
    id: str
    token: str
    token_expires: float  # Unix time: replicas share no monotonic clock
    username: str
    me: dict = field(default_factory=dict)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = field(default_factory=time.time)
    flash: tuple[str, str] | list[str] | None = None

    @property
    def roles(self) -> set[str]:
        return set(self.me.get("roles", ()))

    def may(self, *roles: str) -> bool:
        """Whether to show an action: by the rule the services apply to the action itself."""
        return may_act(self.roles, *roles)

    def record(self) -> dict:
        data = asdict(self)
        data.pop("id")
        data["flash"] = getattr(self, "flash", None)  # pages pop it from __dict__ once shown
        return data

    def expires_at(self, idle_seconds: float) -> float:
        return min(self.last_seen + idle_seconds, self.token_expires - 5)


def key_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class DatabaseSessions:
    """Sessions in the gateway's own database."""

    def __init__(self, db: Database):
        self.db = db

    async def load(self, key: str) -> dict | None:
        async with self.db.session() as session:
            row = await session.get(ConsoleSessionRecord, key)
            return dict(row.record) if row else None

    async def save(self, key: str, record: dict, expires_at: float) -> None:
        async with self.db.session() as session:
            await session.merge(ConsoleSessionRecord(key=key, record=record,
                                                     expires_at=datetime.fromtimestamp(expires_at, UTC)))
            await session.commit()

    async def delete(self, key: str) -> None:
        async with self.db.session() as session:
            await session.execute(sa.delete(ConsoleSessionRecord).where(ConsoleSessionRecord.key == key))
            await session.commit()

    async def end_sessions_of(self, user_id) -> None:
        """Signs a user out of every console session (it was disabled)."""
        async with self.db.session() as session:
            await session.execute(sa.delete(ConsoleSessionRecord).where(
                ConsoleSessionRecord.record["me"]["id"].as_string() == str(user_id)))
            await session.commit()

    async def purge(self) -> None:
        """Deletes the sessions that ran out (no one signs out of most of them)."""
        async with self.db.session() as session:
            await session.execute(sa.delete(ConsoleSessionRecord)
                                  .where(ConsoleSessionRecord.expires_at < datetime.now(UTC)))
            await session.commit()

    async def close(self) -> None:
        return None


class RedisSessions:
    """Sessions in Redis, each expiring by itself."""

    def __init__(self, url: str, key_prefix: str):
        import redis.asyncio as redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = f"{key_prefix}:console-session:"

    async def load(self, key: str) -> dict | None:
        raw = await self.redis.get(self.prefix + key)
        return orjson.loads(raw) if raw else None

    async def save(self, key: str, record: dict, expires_at: float) -> None:
        await self.redis.set(self.prefix + key, orjson.dumps(record), ex=max(1, int(expires_at - time.time())))

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    async def end_sessions_of(self, user_id) -> None:
        """Signs a user out of every console session: a walk over the sessions, as rare as disabling."""
        async for name in self.redis.scan_iter(match=self.prefix + "*", count=500):
            raw = await self.redis.get(name)
            if raw and orjson.loads(raw).get("me", {}).get("id") == str(user_id):
                await self.redis.delete(name)

    async def purge(self) -> None:
        return None

    async def close(self) -> None:
        await self.redis.aclose()


def session_store(settings, db: Database) -> DatabaseSessions | RedisSessions:
    if settings.redis_url:
        return RedisSessions(settings.redis_url, settings.redis_key_prefix)
    return DatabaseSessions(db)


class SessionStore:
    """One request's view of the sessions: the one its cookie names (loaded before the page runs),
    any it creates, and any it ends; `flush` writes the changes back."""

    def __init__(self, backend, idle_seconds: float = IDLE_SECONDS):
        self.backend, self.idle_seconds = backend, idle_seconds
        self._current: ConsoleSession | None = None
        self._stored: dict | None = None
        self._created: ConsoleSession | None = None
        self._ended: set[str] = set()

    async def load(self, session_id: str | None) -> None:
        if not session_id:
            return
        record = await self.backend.load(key_of(session_id))
        if record is None:
            return
        session = ConsoleSession(id=session_id, **record)
        now = time.time()
        # Idle too long, or its access token has run out: signed out.
        if now > session.expires_at(self.idle_seconds):
            self._ended.add(session_id)
            return
        self._current, self._stored = session, record

    def create(self, token: str, expires_in: int, username: str, me: dict) -> ConsoleSession:
        self._created = ConsoleSession(secrets.token_urlsafe(32), token, time.time() + expires_in, username, me=me)
        return self._created

    def get(self, session_id: str | None) -> ConsoleSession | None:
        for session in (self._created, self._current):
            if session is not None and session.id == session_id and session_id not in self._ended:
                return session
        return None

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._ended.add(session_id)

    async def flush(self) -> None:
        for session_id in self._ended:
            await self.backend.delete(key_of(session_id))
        if self._created is not None and self._created.id not in self._ended:
            await self.backend.purge()
            await self._save(self._created)
        current = self._current
        if current is None or current.id in self._ended:
            return
        stored, now = self._stored or {}, time.time()
        changed = {k: v for k, v in current.record().items() if k != "last_seen"} != {
            k: v for k, v in stored.items() if k != "last_seen"}
        if changed or now - stored.get("last_seen", 0) > TOUCH_SECONDS:
            current.last_seen = now
            await self._save(current)

    async def _save(self, session: ConsoleSession) -> None:
        # JSON round trip: what was stored must compare equal to what is loaded next time.
        record = orjson.loads(orjson.dumps(session.record()))
        await self.backend.save(key_of(session.id), record, session.expires_at(self.idle_seconds))


class ConsoleSessionsMiddleware:
    """Gives each console request its `SessionStore` (`request.state.console_sessions`) and writes
    it back before the response starts."""

    def __init__(self, app: ASGIApp, cookie: str, path_prefix: str = "/console"):
        self.app, self.cookie, self.path_prefix = app, cookie, path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path_prefix):
            return await self.app(scope, receive, send)
        store = SessionStore(scope["app"].state.console_store)
        await store.load(self._cookie(scope))
        scope.setdefault("state", {})["console_sessions"] = store

        async def send_after_flush(message: Message) -> None:
            if message["type"] == "http.response.start":
                await store.flush()
            await send(message)

        await self.app(scope, receive, send_after_flush)

    def _cookie(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"cookie":
                return cookie_parser(value.decode("latin-1")).get(self.cookie)
        return None
