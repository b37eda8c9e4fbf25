from __future__ import annotations

import uuid
from datetime import date, datetime

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Day, Text


class FindingCreate(RequestSchema):
    org_id: uuid.UUID
    device_id: uuid.UUID | None = None
    title_id: uuid.UUID | None = None
    description: Text(2000)
    due_date: Day


class Resolution(RequestSchema):
    note: Text(2000)


class Reopening(RequestSchema):
    reason: Text(2000)


class FindingOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    device_id: uuid.UUID | None
    title_id: uuid.UUID | None
    description: str
    due_date: date
    status: str
    overdue: bool
    resolution_note: str | None
    reopen_reason: str | None
    created_by: str
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
