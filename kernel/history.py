"""Who changed what, and when: one append-only table per service behind `GET …/{id}/history`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.ids import new_id, utcnow
from kernel.schema import history


class HistoryEntry(BaseModel):
    id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    action: str
    actor: str
    at: datetime
    data: dict[str, Any] | None = None


def actor_of(principal: Principal | None, fallback: str = "system") -> str:
    if principal is None:
        return fallback
    return f"{principal.kind}:{principal.subject}"


async def record(session: AsyncSession, object_type: str, object_id: uuid.UUID, action: str,
                 actor: Principal | str | None, data: dict[str, Any] | None = None) -> None:
    await session.execute(sa.insert(history).values(
        id=new_id(), object_type=object_type, object_id=object_id, action=action,
        actor=actor if isinstance(actor, str) else actor_of(actor), at=utcnow(), data=data))


async def history_of(session: AsyncSession, object_id: uuid.UUID) -> list[HistoryEntry]:
    rows = (await session.execute(sa.select(history).where(history.c.object_id == object_id)
                                  .order_by(history.c.at, history.c.id))).all()
    return [HistoryEntry.model_validate(dict(r._mapping)) for r in rows]
