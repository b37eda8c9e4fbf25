from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Text
from kernel.ids import Id

BULK_MAX = 10_000  # per request; larger provisioning runs send several (the gateway caps bodies at 1 MiB)


class AllocationCreate(RequestSchema):
    assignee_type: Literal["device", "user"]
    # Devices and users are named by their ids, in any spelling; the seat is kept under the
    # canonical one, so that a device written in capitals or braces still has one seat per pool.
    assignee_id: Id


class BulkItem(BaseModel):
    """An item of a bulk allocation: AllocationCreate's fields and rules, without the pass of its
    own over its texts that BulkAllocationCreate's pass over the whole body has made (ten thousand
    items checked twice more took about as long as the rest of the request's validation)."""

    model_config = RequestSchema.model_config

    assignee_type: Literal["device", "user"]
    assignee_id: Id


class BulkAllocationCreate(RequestSchema):
    items: list[BulkItem] = Field(min_length=1, max_length=BULK_MAX)


class AllocationOut(ResponseSchema):
    id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    assignee_type: str
    assignee_id: str
    status: str
    reason: str | None
    allocated_at: datetime
    reclaimed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BulkItemResult(ResponseSchema):
    assignee_type: str
    assignee_id: str
    # 201 allocated now, 200 already held, 409 no seat left, device retired or category already licensed,
    # 422 no such assignee
    status: int
    allocation_id: uuid.UUID | None = None
    problem: str | None = None


class BulkResult(ResponseSchema):
    pool_id: uuid.UUID
    allocated: int
    existing: int
    refused: int
    items: list[BulkItemResult]


class Reclaim(RequestSchema):
    reason: Text(500)


class ReclaimRunCreate(RequestSchema):
    org_id: uuid.UUID
    inactive_days: int = Field(ge=0, le=3650)
    max_seats: int = Field(ge=1, le=100_000)
    dry_run: bool = True


class ReclaimedSeat(ResponseSchema):
    allocation_id: uuid.UUID
    device_id: uuid.UUID
    pool_id: uuid.UUID
    reason: str


class ReclaimRunOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    inactive_days: int
    max_seats: int
    dry_run: bool
    status: str
    seats: list[ReclaimedSeat]
    created_at: datetime
    updated_at: datetime
