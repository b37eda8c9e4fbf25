from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import PositiveFen, Text


class TransferCreate(RequestSchema):
    from_line_id: uuid.UUID
    to_line_id: uuid.UUID
    amount_fen: PositiveFen
    reason: Text(2000)


class TransferOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    from_line_id: uuid.UUID
    to_line_id: uuid.UUID
    amount_fen: int
    reason: str
    status: str
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
