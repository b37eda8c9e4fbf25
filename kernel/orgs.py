"""What a service knows of the org tree, and the subtree scoping every query goes through.

An org's `path` is its parent's path plus its own segment, and never changes, so "is X in the
caller's subtree" is a prefix test on X's path. The local table is filled by identity.org.* events;
an org this service has not heard of yet (created a moment ago) is fetched from the gateway once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.contracts import OrgChanged
from kernel.errors import NotFound
from kernel.events import Event
from kernel.gateway_lookup import ask_gateway
from kernel.ids import utcnow
from kernel.schema import orgs


@dataclass(frozen=True)
class OrgRef:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    kind: str
    path: str


class OrgDirectory:
    def __init__(self, gateway_url: str, internal_token: str):
        self.gateway_url = gateway_url.rstrip("/")
        self.internal_token = internal_token
        # Paths never change, so a process may keep what it has read; renames arrive as events.
        self._cache: dict[uuid.UUID, OrgRef] = {}

    async def get(self, session: AsyncSession, org_id: uuid.UUID) -> OrgRef | None:
        ref = self._cache.get(org_id)
        if ref is not None:
            return ref
        row = (await session.execute(sa.select(orgs).where(orgs.c.id == org_id))).first()
        if row is not None:
            ref = OrgRef(row.id, row.parent_id, row.name, row.kind, row.path)
        else:
            ref = await self._fetch(org_id)
            if ref is None:
                return None
            await self._upsert(session, ref)
        self._cache[org_id] = ref
        return ref

    async def visible(self, session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> OrgRef:
        """Returns the org if it lies in the caller's subtree; otherwise 404, as if it did not exist."""
        ref = await self.get(session, org_id)
        if ref is None or not principal.covers(ref.path):
            raise NotFound(f"no org {org_id} in your subtree")
        return ref

    async def existing(self, session: AsyncSession, org_id: uuid.UUID) -> OrgRef:
        ref = await self.get(session, org_id)
        if ref is None:
            raise NotFound(f"no org {org_id}")
        return ref

    async def _fetch(self, org_id: uuid.UUID) -> OrgRef | None:
        body = await ask_gateway(self.gateway_url, self.internal_token, f"orgs/{org_id}")
        if body is None:
            return None
        return OrgRef(uuid.UUID(body["id"]), uuid.UUID(body["parent_id"]) if body.get("parent_id") else None,
                      body["name"], body["kind"], body["path"])

    async def _upsert(self, session: AsyncSession, ref: OrgRef) -> None:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        values = {"id": ref.id, "parent_id": ref.parent_id, "name": ref.name, "kind": ref.kind,
                  "path": ref.path, "updated_at": utcnow()}
        stmt = dialect.insert(orgs).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"name": ref.name, "kind": ref.kind,
                                                                       "updated_at": values["updated_at"]})
        await session.execute(stmt)

    async def on_org_event(self, session: AsyncSession, event: Event) -> None:
        """Consumes identity.org.created / identity.org.updated."""
        data = event.payload(OrgChanged)
        ref = OrgRef(data.org_id, data.parent_id, data.name, data.kind, data.path)
        await self._upsert(session, ref)
        self._cache[ref.id] = ref


def in_subtree(path_column, principal: Principal):
    """The one filter that scopes a query to the caller's subtree."""
    return path_column.startswith(principal.org_path, autoescape=True)
