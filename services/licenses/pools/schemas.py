from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import model_validator

from kernel.api_schemas import RequestSchema, ResponseSchema, without_read_only
from kernel.bounds import Seats, SeatThreshold, Text, UTCTime
from kernel.contracts import Category, Metric
from services.licenses.pools.models import Product


class EntitlementCreate(RequestSchema, Product):
    org_id: uuid.UUID
    category: Category
    # The catalogue title whose installs its seats make genuine; when absent, the title vendor and
    # product name are recognized as (none if unrecognized).
    title_id: uuid.UUID | None = None
    metric: Metric
    quantity: Seats
    valid_from: UTCTime | None = None
    valid_to: UTCTime | None = None
    # Entitlements from orders come only from delivery events.
    source: Literal["manual", "oem"]
    reference: Text(200, min_length=0) | None = None

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class EntitlementOut(ResponseSchema, Product):
    id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    category: str
    title_id: uuid.UUID | None
    metric: str
    quantity: int
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    reference: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class PoolOut(ResponseSchema, Product):
    id: uuid.UUID
    org_id: uuid.UUID
    category: str
    title_id: uuid.UUID | None
    metric: str
    total: int
    allocated: int
    available: int
    low_threshold: int | None
    next_expiry: datetime | None
    created_at: datetime
    updated_at: datetime


class PoolUpdate(RequestSchema):
    low_threshold: SeatThreshold | None

    @model_validator(mode="before")
    @classmethod
    def _get_body_accepted(cls, data):
        return without_read_only(data, cls, PoolOut)


class TransferCreate(RequestSchema):
    from_pool_id: uuid.UUID
    to_org_id: uuid.UUID
    seats: Seats
    reason: Text(500)


class TransferOut(ResponseSchema):
    id: uuid.UUID
    from_pool_id: uuid.UUID
    to_pool_id: uuid.UUID
    to_org_id: uuid.UUID
    seats: int
    reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime
