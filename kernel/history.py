"""Who changed what, and when: one append-only table per service behind `GET …/{id}/history`.

Each entry knows its audience, and fails closed. Those who read all of an object's history (a
campaign's lead, an object's owners) read every entry; anyone else who may read the object reads
only the entries addressed to a token it holds — `EVERYONE` (every reader of the object), a reader
kind such as `panel`, or `org_token(org_id)` for one org. An entry recorded without an audience
(the default) is for the owners alone: forgetting to say who may read an entry hides it rather
than showing it to every reader. The service's visibility policy says which tokens a reader holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.db import insert_rows
from kernel.events import Event
from kernel.ids import new_id, new_ids, utcnow
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.schema import history, history_audience

EVERYONE_TOKEN = "everyone"
EVERYONE = (EVERYONE_TOKEN,)  # an entry every reader of the object may read
OWNERS = ()  # an entry only those who read the whole history may read: no audience rows at all


class HistoryEntry(BaseModel):
    id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    action: str
    actor: str
    at: datetime
    data: dict[str, Any] | None = None


def actor_of(principal: Principal | None, fallback: str = "system") -> str:
    """Who a request acts as: `user:<id>` or `api_key:<id>` (`system` for the service's own timers)."""
    if principal is None:
        return fallback
    return f"{principal.kind}:{principal.subject}"


def event_actor(event: Event) -> str:
    """Who a change made by an event handler acts as: `event:<type>`, such as
    `event:procurement.order.delivered.v2`. The type tells a reader of the history why the object
    changed; the event's id would tell it nothing (no reader can look events up), and the object
    the event was about is already in the entry's data."""
    return f"event:{event.type}"


def org_token(org_id: uuid.UUID) -> str:
    """The audience token of one org (a supplier its own offers, a unit its own demand)."""
    return f"org:{org_id}"


async def record(session: AsyncSession, object_type: str, object_id: uuid.UUID, action: str,
                 actor: Principal | str | None, data: dict[str, Any] | None = None, *,
                 audience: Iterable[str] = OWNERS) -> None:
    entry_id = new_id()
    await session.execute(sa.insert(history).values(
        id=entry_id, object_type=object_type, object_id=object_id, action=action,
        actor=actor if isinstance(actor, str) else actor_of(actor), at=utcnow(), data=data))
    tokens = sorted(set(audience))
    if tokens:  # none: the owners alone (an entry without rows is never shown to other readers)
        await session.execute(sa.insert(history_audience),
                              [{"history_id": entry_id, "token": token} for token in tokens])


async def record_each(session: AsyncSession, object_type: str,
                      entries: Iterable[tuple[uuid.UUID, str, Principal | str | None, dict[str, Any] | None]]) -> None:
    """Records (object id, action, actor, data) entries for their objects' owners, in one statement
    (a batch of events changes many objects at once)."""
    now = utcnow()
    entries = list(entries)
    # One id call and one INSERT … FROM unnest for all (kernel.db.insert_rows): an import records
    # 50,000 entries, which as new_id() each and an executemany took seconds of the event loop.
    rows = [{"id": entry_id, "object_type": object_type, "object_id": object_id, "action": action,
             "actor": actor if isinstance(actor, str) else actor_of(actor), "at": now, "data": data}
            for entry_id, (object_id, action, actor, data) in zip(new_ids(len(entries)), entries, strict=True)]
    if rows:
        await insert_rows(session, history, rows)


async def history_page(session: AsyncSession, object_id: uuid.UUID, *, cursor: str | None, limit: int,
                       readers: Collection[str] | None = None) -> Page[HistoryEntry]:
    """One page of an object's history, oldest first (ids are time-ordered). `readers` are the
    audience tokens the reader holds besides `EVERYONE`; None for a reader of the whole history."""
    query = sa.select(history).where(history.c.object_id == object_id)
    if readers is not None:
        # Only entries addressed to a token the reader holds: one without an audience is the owners'.
        query = query.where(sa.select(history_audience.c.history_id).where(
            history_audience.c.history_id == history.c.id,
            history_audience.c.token.in_(sorted({EVERYONE_TOKEN, *readers}))).exists())
    if cursor:
        query = query.where(history.c.id > decode_cursor(cursor))
    rows = (await session.execute(query.order_by(history.c.id).limit(limit + 1))).all()
    items = [HistoryEntry.model_validate(dict(r._mapping)) for r in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def history_of(session: AsyncSession, object_id: uuid.UUID) -> list[HistoryEntry]:
    """All of an object's history at once: for tests and internal checks, never behind a read."""
    rows = (await session.execute(sa.select(history).where(history.c.object_id == object_id)
                                  .order_by(history.c.at, history.c.id))).all()
    return [HistoryEntry.model_validate(dict(r._mapping)) for r in rows]
