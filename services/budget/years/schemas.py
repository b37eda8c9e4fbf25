from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import RequestSchema, ResponseSchema


class YearClose(RequestSchema):
    org_id: uuid.UUID


class ClosedLine(ResponseSchema):
    line_id: uuid.UUID
    org_id: uuid.UUID
    category: str
    title: str
    closed_now: bool  # false: closed before, and this close released what it still held
    released_pre_encumbered_fen: int
    released_reserved_fen: int
    demand_ids: list[uuid.UUID]  # the demands whose pre-encumbrance was released
    order_ids: list[uuid.UUID]  # the orders whose reservation was released
    spent_fen: int
    lapsed_fen: int  # approved and adjusted but neither spent nor held: what the year leaves unused


class YearCloseTotals(ResponseSchema):
    lines_closed: int
    lines_already_closed: int
    released_pre_encumbered_fen: int
    released_reserved_fen: int
    released_fen: int
    lapsed_fen: int


class YearClosed(ResponseSchema):
    org_id: uuid.UUID
    fiscal_year: int
    closed_by: str
    closed_at: datetime
    released_nothing: bool
    message: str
    lines: list[ClosedLine]
    totals: YearCloseTotals
