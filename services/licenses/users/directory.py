"""The users this service may hand seats to, learned the way orgs are: from identity.user.created,
and for one it has not heard of yet (created a moment ago), from the gateway once; a user moved to
another org is moved here by identity.user.changed, so its seats are given where it now works."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.contracts import UserChanged, UserCreated
from kernel.db import insert_ignore
from kernel.events import Event
from kernel.gateway_lookup import ask_gateway
from kernel.ids import utcnow
from services.licenses.users.models import KnownUser

# A bulk request naming thousands of users nobody announced must not become thousands of calls.
ASKED_AT_ONCE = 16


class UserDirectory:
    def __init__(self, gateway_url: str, internal_token: str):
        self.gateway_url = gateway_url
        self.internal_token = internal_token

    async def org_paths(self, session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The org path of each user this service knows or the gateway knows; unknown ones are absent."""
        paths: dict[uuid.UUID, str] = {}
        ids = list(user_ids)
        for start in range(0, len(ids), 500):
            rows = await session.execute(sa.select(KnownUser.id, KnownUser.org_path)
                                         .where(KnownUser.id.in_(ids[start:start + 500])))
            paths.update({row.id: row.org_path for row in rows})
        missing = [user_id for user_id in ids if user_id not in paths]
        for start in range(0, len(missing), ASKED_AT_ONCE):
            answers = await asyncio.gather(*(ask_gateway(self.gateway_url, self.internal_token, f"users/{user_id}")
                                             for user_id in missing[start:start + ASKED_AT_ONCE]))
            for body in filter(None, answers):
                user = UserCreated(user_id=body["id"], org_id=body["org_id"], org_path=body["org_path"],
                                   username=body["username"])
                # The gateway's answer is as of its last change: an older change heard later is ignored.
                changed_at = datetime.fromisoformat(body["changed_at"]) if body.get("changed_at") else None
                await self._remember(session, user, changed_at=changed_at)
                paths[user.user_id] = user.org_path
        return paths

    async def _remember(self, session: AsyncSession, user: UserCreated, changed_at: datetime | None = None) -> None:
        await session.execute(insert_ignore(session, KnownUser.__table__, index_elements=["id"]).values(
            id=user.user_id, org_id=user.org_id, org_path=user.org_path, username=user.username,
            updated_at=utcnow(), changed_at=changed_at))

    async def on_user_created(self, session: AsyncSession, event: Event) -> None:
        """Consumes identity.user.created; a change heard before it (another consumer) stays."""
        await self._remember(session, event.payload(UserCreated))

    async def on_user_changed(self, session: AsyncSession, event: Event) -> None:
        """Consumes identity.user.changed: the user's org (and name) as the gateway now has them. A
        user not heard of yet is learned from it; an older change arriving after a newer one (a
        redelivery) changes nothing."""
        change = event.payload(UserChanged)
        values = {"org_id": change.org_id, "org_path": change.org_path, "username": change.username,
                  "updated_at": utcnow(), "changed_at": change.changed_at}
        table = KnownUser.__table__
        await session.execute(insert_ignore(session, table, index_elements=["id"]).values(id=change.user_id, **values))
        await session.execute(sa.update(table).where(
            table.c.id == change.user_id,
            sa.or_(table.c.changed_at.is_(None), table.c.changed_at < change.changed_at)).values(**values))


async def get_users(request: Request) -> UserDirectory:  # async: no worker thread (kernel/deps.py)
    return request.app.state.users


Users = Annotated[UserDirectory, Depends(get_users)]
