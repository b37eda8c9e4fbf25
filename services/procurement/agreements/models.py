from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import ProcurementTable


class Agreement(ProcurementTable, table=True):
    """The framework agreement an award makes: one unified price per item, for a period."""

    __tablename__ = "agreements"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'suspended', 'terminated')", name="status_known"),
        sa.UniqueConstraint("campaign_id"),  # one agreement per campaign, however often it is finalized
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    supplier_org_id: uuid.UUID = Field(index=True)
    supplier_org_path: str = Field(sa_type=sa.String(2000))
    lead_org_id: uuid.UUID
    lead_org_path: str = Field(index=True, sa_type=sa.String(2000))
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime = Field(sa_type=UTCDateTime)
    status: str = Field("active", sa_type=sa.String(20))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class AgreementItem(ProcurementTable, table=True):
    __tablename__ = "agreement_items"
    __table_args__ = (sa.CheckConstraint("unit_price_fen <= cap_unit_price_fen", name="price_within_cap"),)

    agreement_id: uuid.UUID = Field(primary_key=True, foreign_key="agreements.id")
    item_id: uuid.UUID = Field(primary_key=True, foreign_key="campaign_items.id")
    product_id: uuid.UUID = Field(foreign_key="products.id")
    unit_price_fen: int = Field(sa_type=sa.BigInteger)
    cap_unit_price_fen: int = Field(sa_type=sa.BigInteger)


# Call-off orders are taken only while the agreement is active: placing one is a guard command
# that holds the agreement row, so it cannot slip in behind a suspension or termination.
AGREEMENT = StateMachine("agreement", Agreement, ("active", "suspended", "terminated"), {
    "suspend": ("active", "suspended", "suspended"),
    "resume": ("suspended", "active", "resumed"),
    "terminate": (("active", "suspended"), "terminated", "terminated"),
    "call_off": ("active", None, "order_placed"),
}, conflict_slugs={"call_off": "agreement-not-active"})
