from __future__ import annotations

import uuid
from datetime import datetime

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Months, Text
from kernel.contracts import Category, Metric


class ProductCreate(RequestSchema):
    vendor: Text(200)
    name: Text(200)
    edition: Text(200)
    category: Category
    metric: Metric
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
