from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Text


class InstallRequestCreate(RequestSchema):
    device_id: uuid.UUID
    title_id: uuid.UUID
    kind: Literal["install", "uninstall"]
    reason: Text(500)


class Approval(RequestSchema):
    # The pool whose seat the device takes (install) or gives back (uninstall).
    pool_id: uuid.UUID


class Rejection(RequestSchema):
    reason: Text(500)


class InstallRequestOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    device_id: uuid.UUID
    title_id: uuid.UUID
    kind: str
    reason: str
    status: str
    requested_by: str
    pool_id: uuid.UUID | None
    allocation_id: uuid.UUID | None
    decision_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
