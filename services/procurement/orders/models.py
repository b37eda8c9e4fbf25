from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import ProcurementTable

# Why an order was cancelled or its reservation refused: the column's length, and the cancel
# request's limit (orders.schemas).
REASON_MAX = 200


class Order(ProcurementTable, table=True):
    """A call-off order under an agreement. This service owns its state machine."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending_budget', 'confirmed', 'rejected', 'cancelled', 'delivered')",
                           name="status_known"),
        sa.CheckConstraint("quantity > 0 AND amount_fen = quantity * unit_price_fen", name="amount_consistent"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    agreement_id: uuid.UUID = Field(foreign_key="agreements.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    item_id: uuid.UUID = Field(foreign_key="campaign_items.id")
    product_id: uuid.UUID = Field(foreign_key="products.id")
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    supplier_org_id: uuid.UUID = Field(index=True)
    budget_line_id: uuid.UUID
    demand_id: uuid.UUID | None = Field(None, foreign_key="demands.id")
    quantity: int = Field(sa_type=sa.BigInteger)
    unit_price_fen: int = Field(sa_type=sa.BigInteger)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    status: str = Field("pending_budget", sa_type=sa.String(20))
    reason: str | None = Field(None, sa_type=sa.String(REASON_MAX))
    valid_from: datetime | None = Field(None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(None, sa_type=UTCDateTime)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# SPEC: pending_budget → confirmed | rejected (the budget's answer), confirmed → delivered,
# pending_budget | confirmed → cancelled.
ORDER = StateMachine("order", Order, ("pending_budget", "confirmed", "rejected", "cancelled", "delivered"), {
    "confirm": ("pending_budget", "confirmed", "confirmed"),
    "reject": ("pending_budget", "rejected", "rejected"),
    "cancel": (("pending_budget", "confirmed"), "cancelled", "cancelled"),
    "deliver": ("confirmed", "delivered", "delivered"),
})
