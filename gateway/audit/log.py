"""The instance's one audit log, kept at the gateway (SPEC Identity: who did what, when, from where).

Every state-changing request of every service passes through the gateway, so the gateway records
what it routes (`AuditMiddleware`): actor, org, method, path, object id, status and request id,
without the services announcing anything, and one place to keep and read it. Sign-ins (with their
outcome, username, address and user agent), sign-outs and locks are recorded by the code that
sees them (gateway/identity/router.py, the console).

Writing must not slow the proxied requests: an entry is appended to a list in memory and a
background task writes what has gathered in one INSERT every `FLUSH_SECONDS` (or sooner, once
`BATCH` wait). The price: entries of the last moment before a crash of the gateway are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.models import AuditEntry
from kernel.background import run_every
from kernel.db import Database
from kernel.ids import new_ids, utcnow
from kernel.stopping import stop_if_asked
from kernel.tracing import current_request_id

log = logging.getLogger("zhengban.gateway.audit")

FLUSH_SECONDS = 0.5
BATCH = 1000
# What waits in memory while the database does not answer; past it the oldest are dropped (logged).
HELD_AT_MOST = 100_000
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
UUID_TEXT = re.compile(UUID.pattern.decode())
# A created object's id: the first "id" of the answer, looked for in its first bytes only.
CREATED_ID = re.compile(rb'"id"\s*:\s*"(' + UUID.pattern + rb')"')
# Identity's writes by route, named for people reading the log; proxied ones are `request`.
IDENTITY_ACTIONS = {
    ("POST", "/api/v1/identity/orgs"): "org_created",
    ("POST", "/api/v1/identity/orgs:import"): "orgs_imported",
    ("PATCH", "/api/v1/identity/orgs/{org_id}"): "org_renamed",
    ("POST", "/api/v1/identity/users"): "user_created",
    ("POST", "/api/v1/identity/users:import"): "users_imported",
    ("PATCH", "/api/v1/identity/users/{user_id}"): "user_changed",
    ("POST", "/api/v1/identity/users/{user_id}/password-reset"): "password_reset",
    ("POST", "/api/v1/identity/me/password"): "password_changed",
    ("POST", "/api/v1/identity/api-keys"): "api_key_created",
    ("DELETE", "/api/v1/identity/api-keys/{key_id}"): "api_key_revoked",
    ("POST", "/api/v1/identity/signing-keys/rotate"): "signing_key_rotated",
}


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class AuditLog:
    """Entries gathered in memory and written in batches by `run` (a background task).

    `record` only keeps what it is given (the scope, the principal, the answer's first bytes): ids,
    times and every parsed value are made at `flush`, off the request's path."""

    def __init__(self, db: Database):
        self.db = db
        self.pending: list[tuple] = []
        self._wake = asyncio.Event()

    def record(self, action: str, *, scope: Scope | None = None, principal=None, answer_head: bytes = b"",
               **fields) -> None:
        """Adds an entry; `scope` gives the address, user agent, method, path (and the object's id
        in it), `principal` the actor, `answer_head` a created object's id."""
        self.pending.append((time.time(), action, current_request_id.get(), scope, principal, answer_head, fields))
        if len(self.pending) >= BATCH:
            self._wake.set()

    async def flush(self) -> int:
        """Writes what waits; returns how many. Kept for the next round should the database fail."""
        if not self.pending:
            return 0
        batch, self.pending = self.pending, []
        try:
            rows = [_row(entry_id, *entry) for entry_id, entry in zip(new_ids(len(batch)), batch, strict=True)]
            async with self.db.session() as session:
                await session.execute(sa.insert(AuditEntry.__table__), rows)
                await session.commit()
        except Exception:
            self.pending = (batch + self.pending)[-HELD_AT_MOST:]
            log.exception("audit entries not written; kept for the next round (%d waiting)", len(self.pending))
            raise
        return len(batch)

    async def run(self) -> None:
        while True:
            stop_if_asked()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            with contextlib.suppress(Exception):  # logged by flush; tried again next round
                await self.flush()

    async def prune(self, retention_days: int) -> int:
        """Deletes entries older than the retention (SPEC: kept at least 180 days), and nothing else."""
        async with self.db.session() as session:
            gone = await session.execute(sa.delete(AuditEntry).where(
                AuditEntry.at < utcnow() - timedelta(days=retention_days)))
            await session.commit()
        if gone.rowcount:
            log.info("pruned %d audit entries older than %d days", gone.rowcount, retention_days)
        return gone.rowcount

    async def prune_forever(self, retention_days: int, interval_seconds: int) -> None:
        await run_every(interval_seconds, lambda: self.prune(retention_days), what="pruning the audit log", log=log)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


COLUMNS = ("id", "at", "action", "actor_id", "actor_name", "org_id", "org_path", "ip", "user_agent", "method",
           "path", "object_id", "status", "request_id", "detail")


def _row(entry_id: uuid.UUID, at: float, action: str, request_id: str | None, scope: Scope | None, principal,
         answer_head: bytes, fields: dict) -> dict:
    """One entry as a row with every column (one executemany statement for the whole batch)."""
    row = dict.fromkeys(COLUMNS)
    row.update(id=entry_id, at=datetime.fromtimestamp(at, UTC), action=action, request_id=request_id)
    if scope is not None:
        client = scope.get("client")
        in_path = UUID_TEXT.findall(scope["path"])
        created = CREATED_ID.search(answer_head) if answer_head and not in_path else None
        row.update(ip=client[0] if client else None, method=scope["method"], path=scope["path"][:2000],
                   user_agent=(header(scope, b"user-agent") or "")[:500] or None,
                   object_id=_uuid(in_path[-1]) if in_path else _uuid(created.group(1).decode()) if created else None)
    if principal is not None:
        row.update(actor_id=_uuid(principal.subject), actor_name=principal.name[:200] or None,
                   org_id=principal.org_id, org_path=principal.org_path)
    row.update(fields)
    return row


class AuditMiddleware:
    """Records every state-changing request under /api/v1/ after it was answered. Sits inside
    AccessMiddleware, which has put the caller in the scope; costs the request a dict append."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not scope["path"].startswith("/api/v1/"):
            return await self.app(scope, receive, send)
        answer: dict = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body" and "head" not in answer:
                answer["head"] = message.get("body", b"")[:300]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._record(scope, answer)

    @staticmethod
    def _record(scope: Scope, answer: dict) -> None:
        state = scope.get("state") or {}
        status = answer.get("status", 500)
        action = IDENTITY_ACTIONS.get((scope["method"], getattr(scope.get("route"), "path", None)), "request")
        scope["app"].state.audit.record(action, scope=scope, principal=state.get("principal"), status=status,
                                        answer_head=answer.get("head", b"") if 200 <= status < 300 else b"")
