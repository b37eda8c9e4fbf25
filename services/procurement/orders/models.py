from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import Base


class Order(Base):
    """A call-off order under an agreement. This service owns its state machine."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending_budget', 'confirmed', 'rejected', 'cancelled', 'delivered')",
                           name="status_known"),
        sa.CheckConstraint("quantity > 0 AND amount_fen = quantity * unit_price_fen", name="amount_consistent"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("agreements.id"), index=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column()
    item_id: Mapped[uuid.UUID] = mapped_column()
    product_id: Mapped[uuid.UUID] = mapped_column()
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    budget_line_id: Mapped[uuid.UUID] = mapped_column()
    demand_id: Mapped[uuid.UUID | None] = mapped_column()
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending_budget")
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    valid_from: Mapped[datetime | None] = mapped_column()
    valid_to: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# SPEC: pending_budget → confirmed | rejected (the budget's answer), confirmed → delivered,
# pending_budget | confirmed → cancelled.
ORDER = StateMachine("order", Order, ("pending_budget", "confirmed", "rejected", "cancelled", "delivered"), {
    "confirm": ("pending_budget", "confirmed", "confirmed"),
    "reject": ("pending_budget", "rejected", "rejected"),
    "cancel": (("pending_budget", "confirmed"), "cancelled", "cancelled"),
    "deliver": ("confirmed", "delivered", "delivered"),
})
