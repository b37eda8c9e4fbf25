from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from kernel.deps import RequestSchema, ResponseSchema
from services.budget.policies.schemas import Category


class LineCreate(RequestSchema):
    org_id: uuid.UUID
    fiscal_year: int = Field(ge=2000, le=2100)
    category: Category
    title: str = Field(min_length=1, max_length=300)
    quantity: int = Field(gt=0, le=10_000_000)
    unit_price_fen: int = Field(gt=0, le=10_000_000_000)
    justification: str | None = Field(default=None, max_length=5000)


class LineUpdate(RequestSchema):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    quantity: int | None = Field(default=None, gt=0, le=10_000_000)
    unit_price_fen: int | None = Field(default=None, gt=0, le=10_000_000_000)
    justification: str | None = Field(default=None, max_length=5000)


class Approve(RequestSchema):
    approved_fen: int = Field(gt=0)
    note: str | None = Field(default=None, max_length=2000)


class Reason(RequestSchema):
    reason: str = Field(min_length=1, max_length=2000)


class Adjustment(RequestSchema):
    delta_fen: int
    reason: str = Field(min_length=1, max_length=2000)


class LineOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    category: str
    title: str
    quantity: int
    unit_price_fen: int
    justification: str | None
    status: str
    requested_fen: int
    approved_fen: int
    adjusted_fen: int
    pre_encumbered_fen: int
    reserved_fen: int
    spent_fen: int
    available_fen: int
    cap_fen: int | None
    special_need: bool
    procurement_method: str
    note: str | None
    return_reason: str | None
    reject_reason: str | None
    submitted_by: str | None
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EntryOut(ResponseSchema):
    id: uuid.UUID
    line_id: uuid.UUID
    kind: str
    amount_fen: int
    ref_id: uuid.UUID | None
    demand_id: uuid.UUID | None
    reason: str | None
    actor: str
    at: datetime


class SummaryRow(ResponseSchema):
    org_id: uuid.UUID
    org_name: str
    category: str
    lines: int
    requested_fen: int
    approved_fen: int
    pre_encumbered_fen: int
    reserved_fen: int
    spent_fen: int
    available_fen: int
    execution_rate: float


class Summary(ResponseSchema):
    org_id: uuid.UUID
    fiscal_year: int
    rows: list[SummaryRow]
    totals: SummaryRow
