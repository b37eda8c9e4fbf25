"""`Idempotency-Key` on POST, per the IETF draft, for every process.

Same key and same request → the first response again (`Idempotent-Replayed: true`); same key and a
different request → 422; same key while the first is still running → 409. Keys are scoped to
the caller, so two callers cannot collide or read each other's answers. A 5xx is not kept, so the
client may retry it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.db import Database, insert_ignore
from kernel.errors import DomainError, problem_response
from kernel.ids import utcnow
from kernel.schema import idempotency_keys

# A first request that has not finished after this long is taken to have died with its process.
ABANDONED_AFTER = timedelta(seconds=60)
KEPT_HEADERS = {b"content-type", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database, scope_of, path_prefixes: tuple[str, ...] = ("/",)):
        self.app = app
        self.db = db
        self.scope_of = scope_of  # async (scope) -> caller subject or None
        self.path_prefixes = path_prefixes

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
        digest = hashlib.sha256(scope["path"].encode() + b"\n" + body).hexdigest()
        key_text = key.decode(errors="replace")[:200]

        replay = await self._claim(caller, key_text, digest)
        if replay is not None:
            return await replay(scope, receive, send)

        status = 500
        chunks: list[bytes] = []
        headers: list[tuple[bytes, bytes]] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._finish(caller, key_text, status, b"".join(chunks), headers)

    async def _claim(self, caller: str, key: str, digest: str):
        async with self.db.session() as session, session.begin():
            inserted = await session.execute(
                insert_ignore(session, idempotency_keys, index_elements=["scope", "key"]).values(
                    scope=caller, key=key, request_hash=digest, created_at=utcnow()))
            if inserted.rowcount:
                return None
            row = (await session.execute(sa.select(idempotency_keys).where(
                idempotency_keys.c.scope == caller, idempotency_keys.c.key == key))).first()
            if row is None:
                return None
            if row.request_hash != digest:
                return problem_response(422, "idempotency-key-reused", "Idempotency-Key reused",
                                        "this Idempotency-Key was used with a different request")
            if row.status_code is None:
                if utcnow() - row.created_at > ABANDONED_AFTER:
                    await session.execute(sa.update(idempotency_keys).where(
                        idempotency_keys.c.scope == caller, idempotency_keys.c.key == key
                    ).values(created_at=utcnow()))
                    return None
                return problem_response(409, "idempotency-key-in-flight", "Request still in progress",
                                        "the first request with this Idempotency-Key has not finished")
            return _Replay(row.status_code, row.response_body or b"", row.response_headers or [])

    async def _finish(self, caller: str, key: str, status: int, body: bytes, headers) -> None:
        async with self.db.session() as session, session.begin():
            where = (idempotency_keys.c.scope == caller) & (idempotency_keys.c.key == key)
            if status >= 500:
                await session.execute(sa.delete(idempotency_keys).where(where))
            else:
                kept = [[k.decode(), v.decode()] for k, v in headers if k.lower() in KEPT_HEADERS]
                await session.execute(sa.update(idempotency_keys).where(where).values(
                    status_code=status, response_body=body, response_headers=kept))


class _Replay:
    def __init__(self, status: int, body: bytes, headers: list[list[str]]):
        self.status, self.body, self.headers = status, body, headers

    async def __call__(self, scope, receive, send) -> None:
        headers = [(k.encode(), v.encode()) for k, v in self.headers]
        headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})
