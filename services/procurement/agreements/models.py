from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import Base


class Agreement(Base):
    """The framework agreement an award makes: one unified price per item, for a period."""

    __tablename__ = "agreements"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'suspended', 'terminated')", name="status_known"),
        sa.UniqueConstraint("campaign_id"),  # one agreement per campaign, however often it is finalized
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"))
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    supplier_org_path: Mapped[str] = mapped_column(sa.String(2000))
    lead_org_id: Mapped[uuid.UUID] = mapped_column()
    lead_org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    valid_from: Mapped[datetime] = mapped_column()
    valid_to: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgreementItem(Base):
    __tablename__ = "agreement_items"
    __table_args__ = (sa.CheckConstraint("unit_price_fen <= cap_unit_price_fen", name="price_within_cap"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("agreements.id"), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaign_items.id"), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    cap_unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)


# Call-off orders are taken only while the agreement is active: placing one is a guard command
# that holds the agreement row, so it cannot slip in behind a suspension or termination.
AGREEMENT = StateMachine("agreement", Agreement, ("active", "suspended", "terminated"), {
    "suspend": ("active", "suspended", "suspended"),
    "resume": ("suspended", "active", "resumed"),
    "terminate": (("active", "suspended"), "terminated", "terminated"),
    "call_off": ("active", None, "order_placed"),
}, conflict_slugs={"call_off": "agreement-not-active"})
