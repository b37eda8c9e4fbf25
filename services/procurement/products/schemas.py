from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from kernel.deps import RequestSchema, ResponseSchema

Category = Literal["os", "office", "antivirus", "database", "industrial_design", "business", "other"]


class ProductCreate(RequestSchema):
    vendor: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    edition: str = Field(min_length=1, max_length=200)
    category: Category
    metric: Literal["device", "user", "concurrent"]
    term_months: int | None = Field(default=None, gt=0, le=600)
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
