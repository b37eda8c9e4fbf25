"""Keyset pages: `{items, next_cursor}`; ids are time-ordered, so the cursor is the last id."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.errors import InvalidInput

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="page size, at most 200")]
Cursor = Annotated[str | None, Query(max_length=100, description="`next_cursor` of the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the cursor is not one this API gave out", slug="invalid-cursor") from exc


async def paginate(session: AsyncSession, query: sa.Select, id_column, *, cursor: str | None, limit: int):
    """Runs `query` one page at a time, ordered by id. A query for one ORM entity pages its objects;
    one that selects more (an entity and computed columns) pages rows whose first element is it."""
    single = len(query.column_descriptions) == 1
    if cursor:
        query = query.where(id_column > decode_cursor(cursor))
    result = await session.execute(query.order_by(id_column).limit(limit + 1))
    rows = result.scalars().all() if single else result.all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1] if single else rows[-1][0]) if rows else None
    return rows, (encode_cursor(last.id) if more and last is not None else None)
