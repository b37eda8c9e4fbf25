from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from kernel.deps import RequestSchema, ResponseSchema

Category = Literal["os", "office", "antivirus", "database", "industrial_design", "business", "other"]
Metric = Literal["device", "user", "concurrent"]


class EntitlementCreate(RequestSchema):
    org_id: uuid.UUID
    product_id: uuid.UUID | None = None
    product_name: str = Field(min_length=1, max_length=200)
    vendor: str = Field(min_length=1, max_length=200)
    category: Category
    metric: Metric
    quantity: int = Field(gt=0, le=10_000_000_000)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    # Entitlements from orders come only from delivery events.
    source: Literal["manual", "oem"]
    reference: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class EntitlementOut(ResponseSchema):
    id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    product_id: uuid.UUID | None
    product_name: str
    vendor: str
    category: str
    metric: str
    quantity: int
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    reference: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class PoolOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    product_id: uuid.UUID | None
    product_name: str
    vendor: str
    category: str
    metric: str
    total: int
    allocated: int
    available: int
    low_threshold: int | None
    next_expiry: datetime | None
    created_at: datetime
    updated_at: datetime


class PoolUpdate(RequestSchema):
    low_threshold: int | None = Field(ge=0)


class TransferCreate(RequestSchema):
    from_pool_id: uuid.UUID
    to_org_id: uuid.UUID
    seats: int = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)


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
