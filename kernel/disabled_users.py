"""The users whose access tokens a process refuses: disabled by an admin at the gateway.

A disabled user's tokens are refused by the gateway and every service within 60 s (SPEC), without
a call to the gateway per request: each service keeps the refusals in its own table
(`disabled_users`), fed by `identity.user.changed` and `identity.user.disabled`, and holds the ids
in memory for the token check. The memory is read again from the table every `RELOAD_SECONDS`
(only one replica of a service applies each event; the others learn it from the table), and from
the table at start, so a restarted service refuses at once what it heard before. The gateway fills
the same memory from its users table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.background import run_every
from kernel.consumers import Subscription
from kernel.contracts import UserChanged, UserDisabled, read
from kernel.db import Database, insert_ignore
from kernel.events import Event
from kernel.ids import utcnow
from kernel.schema import disabled_users

log = logging.getLogger("zhengban.disabled_users")

# Well inside SPEC's 60 s, with the outbox relay and the consumer's own delay before it.
RELOAD_SECONDS = 10


class DisabledUsers:
    """The ids (token subjects) this process refuses, and how it keeps them current."""

    def __init__(self, load: Callable[[], Awaitable[set[str]]]):
        self._load = load
        self.ids: frozenset[str] = frozenset()

    def refuses(self, subject: str) -> bool:
        return subject in self.ids

    def add(self, subject: str) -> None:
        self.ids = self.ids | {subject}

    def remove(self, subject: str) -> None:
        self.ids = self.ids - {subject}

    async def reload(self) -> None:
        self.ids = frozenset(await self._load())

    async def keep_current(self, app: FastAPI) -> None:
        """Runs for the app's lifetime (a background task): reads the refusals again and again."""
        await run_every(RELOAD_SECONDS, self.reload, what="reading the disabled users", log=log)


def service_disabled_users(db: Database) -> DisabledUsers:
    """A service's refusals, read from its `disabled_users` table."""

    async def load() -> set[str]:
        async with db.session() as session:
            rows = await session.execute(sa.select(disabled_users.c.user_id)
                                         .where(disabled_users.c.disabled.is_(True)))
            return {str(user_id) for user_id in rows.scalars()}

    return DisabledUsers(load)


class DisabledUsersCopy:
    """A service's consumer of the user events: keeps, per user, the newest state it heard."""

    def __init__(self, refusals: DisabledUsers):
        self.refusals = refusals

    async def on_user_changed(self, session: AsyncSession, event: Event) -> None:
        change: UserChanged = read(event, UserChanged, UserDisabled)
        values = {"disabled": change.disabled, "changed_at": change.changed_at, "copied_at": utcnow()}
        await session.execute(insert_ignore(session, disabled_users, index_elements=["user_id"])
                              .values(user_id=change.user_id, **values))
        # An older change that arrives after a newer one changes nothing.
        await session.execute(sa.update(disabled_users).where(disabled_users.c.user_id == change.user_id,
                                                              disabled_users.c.changed_at < change.changed_at)
                              .values(**values))
        # At once in this replica; should the transaction roll back, the event comes again and the
        # next reload from the table corrects the memory either way.
        state = (await session.execute(sa.select(disabled_users.c.disabled)
                                       .where(disabled_users.c.user_id == change.user_id))).scalar_one()
        (self.refusals.add if state else self.refusals.remove)(str(change.user_id))

    def subscriptions(self) -> list[Subscription]:
        return [Subscription("identity.user.changed", self.on_user_changed),
                Subscription("identity.user.disabled", self.on_user_changed)]
