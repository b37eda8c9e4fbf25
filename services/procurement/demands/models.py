"""A participant unit's demand in a campaign: what it pre-encumbers on its budget line, and its
budget status. Campaigns take demand; agreements and orders read it; none of them owns the release."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import ProcurementTable


class Demand(ProcurementTable, table=True):
    __tablename__ = "demands"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('pending_budget', 'accepted', 'rejected', 'released')", name="status_known"),
        # One live demand per unit and item.
        sa.Index("uq_demands_live", "campaign_id", "org_id", "item_id", unique=True,
                 sqlite_where=sa.text("status IN ('pending_budget', 'accepted')"),
                 postgresql_where=sa.text("status IN ('pending_budget', 'accepted')")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    org_id: uuid.UUID
    org_path: str = Field(sa_type=sa.String(2000))
    item_id: uuid.UUID = Field(foreign_key="campaign_items.id")
    quantity: int = Field(sa_type=sa.BigInteger)
    budget_line_id: uuid.UUID
    amount_fen: int = Field(sa_type=sa.BigInteger)  # quantity at the cap: what the budget holds
    status: str = Field("pending_budget", sa_type=sa.String(20))
    reason: str | None = Field(None, sa_type=sa.String(200))
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# SPEC: pending_budget → accepted | rejected, and released when the campaign ends without it.
# Its history is the campaign's.
DEMAND = StateMachine("demand", Demand, ("pending_budget", "accepted", "rejected", "released"), {
    "accept": ("pending_budget", "accepted", "demand_accepted"),
    "reject": ("pending_budget", "rejected", "demand_rejected"),
    "release": (("pending_budget", "accepted"), "released", "demand_released"),
})
