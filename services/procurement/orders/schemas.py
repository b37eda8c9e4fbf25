from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, model_validator

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Quantity, Text, UTCTime
from services.procurement.orders.models import REASON_MAX


class OrderCreate(RequestSchema):
    agreement_id: uuid.UUID
    item_id: uuid.UUID
    quantity: Quantity
    budget_line_id: uuid.UUID
    org_id: uuid.UUID


class Delivery(RequestSchema):
    valid_from: UTCTime | None = None
    valid_to: UTCTime | None = None
    keys: list[Text(500)] | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class CancelOrder(RequestSchema):
    reason: Text(REASON_MAX, min_length=0) | None = None


class OrderOut(ResponseSchema):
    id: uuid.UUID
    agreement_id: uuid.UUID
    campaign_id: uuid.UUID
    item_id: uuid.UUID
    product_id: uuid.UUID
    org_id: uuid.UUID
    supplier_org_id: uuid.UUID
    # null for the agreement's supplier: a unit's budget line and demand are its own (visibility.py)
    budget_line_id: uuid.UUID | None
    demand_id: uuid.UUID | None
    quantity: int
    unit_price_fen: int
    amount_fen: int
    status: str
    reason: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    updated_at: datetime
