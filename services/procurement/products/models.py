from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from services.procurement.models import ProcurementTable


class Product(ProcurementTable, table=True):
    """A catalogue entry: what can be bought jointly and ordered under an agreement."""

    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("metric IN ('device', 'user', 'concurrent')", name="metric_known"),
        sa.CheckConstraint("term_months IS NULL OR term_months > 0", name="term_positive"),
        sa.UniqueConstraint("vendor", "name", "edition", "metric", "term_months"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    vendor: str = Field(sa_type=sa.String(200))
    name: str = Field(sa_type=sa.String(200))
    edition: str = Field(sa_type=sa.String(200))
    category: str = Field(sa_type=sa.String(40))
    metric: str = Field(sa_type=sa.String(20))
    term_months: int | None = None  # null: perpetual
    domestic: bool
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
