from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import ResponseSchema


class AgreementItemOut(ResponseSchema):
    item_id: uuid.UUID
    product_id: uuid.UUID
    unit_price_fen: int
    cap_unit_price_fen: int


class AgreementOut(ResponseSchema):
    id: uuid.UUID
    campaign_id: uuid.UUID
    supplier_org_id: uuid.UUID
    lead_org_id: uuid.UUID
    items: list[AgreementItemOut]
    valid_from: datetime
    valid_to: datetime
    status: str
    created_at: datetime
    updated_at: datetime
