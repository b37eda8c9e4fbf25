from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import RequestSchema, ResponseSchema
from services.budget.transfers.models import TransferBase


class TransferCreate(RequestSchema, TransferBase):
    pass


class TransferOut(ResponseSchema, TransferBase):
    id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    status: str
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
