from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import FenDelta, FiscalYear, PositiveFen, Quantity, Text, UnitPriceFen
from kernel.contracts import Category
from kernel.notices import Edition


class LineCreate(RequestSchema):
    org_id: uuid.UUID
    fiscal_year: FiscalYear
    category: Category
    # Which edition the line buys, where caps differ by edition (antivirus client or server); an
    # antivirus line without one is held to the client's cap.
    edition: Edition | None = None
    title: Text(300)
    quantity: Quantity
    unit_price_fen: UnitPriceFen
    justification: Text(5000, min_length=0) | None = None


class LineUpdate(RequestSchema):
    # A line always has a title, a quantity and a price: left out they stay, and null is refused
    # (422) rather than reaching the price check; null clears the justification.
    title: Text(300) = None
    quantity: Quantity = None
    unit_price_fen: UnitPriceFen = None
    justification: Text(5000, min_length=0) | None = None


class Approve(RequestSchema):
    approved_fen: PositiveFen
    note: Text(2000, min_length=0) | None = None


class Control(RequestSchema):
    control_fen: PositiveFen
    note: Text(2000, min_length=0) | None = None


class Reason(RequestSchema):
    reason: Text(2000)


class Adjustment(RequestSchema):
    delta_fen: FenDelta
    reason: Text(2000)


class LineOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    category: str
    edition: str | None
    title: str
    quantity: int
    unit_price_fen: int
    justification: str | None
    status: str
    requested_fen: int
    control_fen: int | None
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
