from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from services.procurement.models import Base


class Product(Base):
    """A catalogue entry: what can be bought jointly and ordered under an agreement."""

    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("metric IN ('device', 'user', 'concurrent')", name="metric_known"),
        sa.CheckConstraint("term_months IS NULL OR term_months > 0", name="term_positive"),
        sa.UniqueConstraint("vendor", "name", "edition", "metric", "term_months"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vendor: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    edition: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(40))
    metric: Mapped[str] = mapped_column(sa.String(20))
    term_months: Mapped[int | None] = mapped_column()  # null: perpetual
    domestic: Mapped[bool] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
