"""`Idempotency-Key` on POST, per the IETF draft, for every process.

Same key and same request → the first response again (`Idempotent-Replayed: true`); same key and a
different request → 422. Keys are scoped to the caller, so two callers cannot collide or read each
other's answers.

The answer is kept in the transaction of the work it answers: under a key, the use-case's
`session.commit()` only flushes (kernel.db.RequestSession), the response is built and held here,
and then one commit writes the effect and the key's row with the answer, before a byte of the
answer leaves. So there is no moment at which the work is done and its answer is not kept: a
retry sent the instant the answer arrived replays it, and so does one after the process died
between committing and answering. Racing requests with one key: in this process the later ones
wait for the first and replay its answer; across processes each runs, the first commit wins, and
the others' work rolls back when their row collides with the winner's, and they replay its answer.
A 5xx is not kept and nothing of its work stays, so the client may simply retry; the same for
an answer with Retry-After (a 409 `contended`).

Work done in sessions of its own (the seat batcher's group commit) commits before the answer, and
the answer is kept right after: a process dying in between leaves a retry to do it again, which
for a seat answers the seat the assignee holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
from contextvars import ContextVar
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.db import HELD_COMMIT, Database, insert_ignore
from kernel.errors import DomainError, problem_response
from kernel.ids import canonical_id_text, utcnow
from kernel.schema import idempotency_keys

# A row without an answer is left by an earlier version of this module, which claimed a key before
# the work; after this long its request is taken to have died with its process.
ABANDONED_AFTER = timedelta(seconds=60)
# How long a request waits for another with its key, in this process, before answering 409.
IN_FLIGHT_WAIT_SECONDS = 30
KEPT_HEADERS = {b"content-type", b"location"}


class Claim:
    """A request being answered under a key, and the session its work runs in (opened on first use
    by kernel.deps.get_session; this module commits and closes it)."""

    def __init__(self, db: Database):
        self.db = db
        self.session: AsyncSession | None = None
        self.committed = False  # the use-case asked for a commit: its work is to stay

    def open_session(self) -> AsyncSession:
        if self.session is None:
            self.session = self.db.session()
            self.session.info[HELD_COMMIT] = self
        return self.session

    async def keep(self, row: dict) -> bool:
        """Commits the work with its answer (`row`); False when another request with this key
        committed first (then nothing of this one stays)."""
        session = self.session or self.db.session()
        try:
            session.info.pop(HELD_COMMIT, None)
            if not self.committed:
                await session.rollback()  # what the use-case did not commit is not kept
            inserted = await session.execute(
                insert_ignore(session, idempotency_keys, index_elements=["scope", "key"]).values(**row))
            if not inserted.rowcount:
                await session.rollback()
                return False
            await session.commit()
            return True
        finally:
            await session.close()

    async def discard(self) -> None:
        if self.session is not None:
            self.session.info.pop(HELD_COMMIT, None)
            await self.session.rollback()
            await self.session.close()


current_claim: ContextVar[Claim | None] = ContextVar("current_claim", default=None)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database, scope_of, path_prefixes: tuple[str, ...] = ("/",),
                 crash_after_commit_for_key: str = ""):
        self.app = app
        self.db = db
        self.scope_of = scope_of  # async (scope) -> caller subject or None
        self.path_prefixes = path_prefixes
        # Fault injection for the tests only: the process dies right after committing this key's work.
        self.crash_after_commit_for_key = crash_after_commit_for_key
        self.running: dict[tuple[str, str], asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not scope["path"].startswith(self.path_prefixes)):
            return await self.app(scope, receive, send)
        key = dict(scope["headers"]).get(b"idempotency-key")
        if not key:
            return await self.app(scope, receive, send)
        try:
            caller = await self.scope_of(scope)
        except DomainError:
            caller = None
        if caller is None:  # the endpoint will answer 401
            return await self.app(scope, receive, send)

        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        digest = request_digest(scope["path"], body)
        key_text = key.decode(errors="replace")[:200]
        slot = (caller, key_text)

        while True:
            kept = await self._kept(caller, key_text, digest)
            if kept is not None:
                return await kept(scope, receive, send)
            first = self.running.get(slot)
            if first is None:
                break
            # The same key is being answered in this process: wait for that answer, then replay it.
            try:
                await asyncio.wait_for(first.wait(), IN_FLIGHT_WAIT_SECONDS)
            except TimeoutError:
                return await in_flight()(scope, receive, send)
        done = self.running[slot] = asyncio.Event()
        try:
            answer = await self._answer(scope, receive, body, caller, key_text, digest)
        finally:
            del self.running[slot]
            done.set()
        await answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, body: bytes, caller: str, key: str, digest: str):
        """Runs the request with its answer held back, keeps the answer with the work, and returns
        what to send: the answer, or the answer of a request with this key that committed first."""
        held = _Held()
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        claim = Claim(self.db)
        token = current_claim.set(claim)
        try:
            await self.app(scope, replay_body, held.capture)
        except BaseException:
            await claim.discard()
            raise
        finally:
            current_claim.reset(token)
        if held.status >= 500 or held.says_retry:
            # Nothing of a failed request stays, nor an answer that says to come back (409
            # contended): the client's retry with this key is to do the work, not replay that.
            await claim.discard()
            return held
        row = dict(scope=caller, key=key, request_hash=digest, status_code=held.status, response_body=held.body,
                   response_headers=[[k.decode(), v.decode()] for k, v in held.headers if k.lower() in KEPT_HEADERS],
                   created_at=utcnow())
        if not await claim.keep(row):
            return await self._kept(caller, key, digest) or in_flight()
        if self.crash_after_commit_for_key and key == self.crash_after_commit_for_key:
            os.kill(os.getpid(), signal.SIGKILL)
        return held

    async def _kept(self, caller: str, key: str, digest: str):
        """What to answer from the key's row: its answer again, 422 for another request, 409 for a
        row of the older kind still in flight; None when there is no (live) row."""
        where = (idempotency_keys.c.scope == caller) & (idempotency_keys.c.key == key)
        async with self.db.session() as session:
            row = (await session.execute(sa.select(idempotency_keys).where(where))).first()
            if row is None:
                return None
            if row.request_hash != digest:
                return problem_response(422, "idempotency-key-reused", "Idempotency-Key reused",
                                        "this Idempotency-Key was used with a different request")
            if row.status_code is None:
                if utcnow() - row.created_at <= ABANDONED_AFTER:
                    return in_flight()
                await session.execute(sa.delete(idempotency_keys)
                                      .where(where, idempotency_keys.c.status_code.is_(None)))
                await session.commit()
                return None
            return _Replay(row.status_code, row.response_body or b"", row.response_headers or [])


# A path segment or a JSON string that may spell a UUID (kernel.ids.canonical_id decides).
_PATH_ID = re.compile(r"[^/]{32,45}")
_BODY_ID = re.compile(rb'"((?:[uU][rR][nN]:[uU][uU][iI][dD]:)?\{?[0-9A-Fa-f-]{32,36}\}?)"')


def request_digest(path: str, body: bytes) -> str:
    """What makes two requests under one key the same request: their path and body, with every
    id in its canonical spelling, so that a retry that writes an id otherwise replays the first
    answer instead of being refused as another request."""
    path = _PATH_ID.sub(lambda m: canonical_id_text(m.group()) or m.group(), path)
    body = _BODY_ID.sub(lambda m: b'"%s"' % (canonical_id_text(m.group(1).decode()) or m.group(1).decode()).encode(),
                        body)
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def in_flight():
    return problem_response(409, "idempotency-key-in-flight", "Request still in progress",
                            "the first request with this Idempotency-Key has not finished")


class _Held:
    """A response held back until it is kept."""

    def __init__(self):
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def says_retry(self) -> bool:
        return any(name.lower() == b"retry-after" for name, _ in self.headers)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class _Replay:
    def __init__(self, status: int, body: bytes, headers: list[list[str]]):
        self.status, self.body, self.headers = status, body, headers

    async def __call__(self, scope, receive, send) -> None:
        headers = [(k.encode(), v.encode()) for k, v in self.headers]
        headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})
