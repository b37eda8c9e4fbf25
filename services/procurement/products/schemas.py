from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from kernel.bounds import Months, Text
from kernel.deps import RequestSchema, ResponseSchema

Category = Literal["os", "office", "antivirus", "database", "industrial_design", "business", "other"]


class ProductCreate(RequestSchema):
    vendor: Text(200)
    name: Text(200)
    edition: Text(200)
    category: Category
    metric: Literal["device", "user", "concurrent"]
    term_months: Months | None = None
    domestic: bool


class ProductOut(ResponseSchema):
    id: uuid.UUID
    vendor: str
    name: str
    edition: str
    category: str
    metric: str
    term_months: int | None
    domestic: bool
    created_at: datetime
    updated_at: datetime
