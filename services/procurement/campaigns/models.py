"""Joint procurement campaigns: demand from many units, sealed offers, rounds, a panel, an award."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import ProcurementTable

STATUSES = ("draft", "demand_open", "demand_locked", "tendering", "negotiation", "standstill", "awarded",
            "cancelled", "unsuccessful")
OPEN_STATUSES = ("draft", "demand_open", "demand_locked", "tendering", "negotiation", "standstill")


class Campaign(ProcurementTable, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'demand_open', 'demand_locked', 'tendering', 'negotiation', "
                           "'standstill', 'awarded', 'cancelled', 'unsuccessful')", name="status_known"),
        sa.CheckConstraint("min_offers >= 1 AND standstill_days >= 0 AND round >= 0", name="numbers_valid"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(sa_type=sa.String(300))
    lead_org_id: uuid.UUID = Field(index=True)
    lead_org_path: str = Field(index=True, sa_type=sa.String(2000))
    fiscal_year: int
    status: str = Field("draft", sa_type=sa.String(20))
    min_offers: int
    standstill_days: int
    agreement_months: int = Field(12)
    round: int = Field(0)  # the current offer round; 0 before offers open
    round_open: bool = Field(False)
    awarded_supplier_org_id: uuid.UUID | None = None
    standstill_ends_at: datetime | None = Field(None, sa_type=UTCDateTime)
    awarded_at: datetime | None = Field(None, sa_type=UTCDateTime)
    end_reason: str | None = Field(None, sa_type=sa.Text)  # why it was cancelled or unsuccessful
    # Why the award is by negotiation though the demand at the cap reaches the public-tender threshold.
    negotiation_reason: str | None = Field(None, sa_type=sa.Text)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class Participant(ProcurementTable, table=True):
    __tablename__ = "campaign_participants"

    campaign_id: uuid.UUID = Field(primary_key=True, foreign_key="campaigns.id")
    org_id: uuid.UUID = Field(primary_key=True)
    org_path: str = Field(index=True, sa_type=sa.String(2000))


class Item(ProcurementTable, table=True):
    __tablename__ = "campaign_items"
    __table_args__ = (sa.CheckConstraint("cap_unit_price_fen > 0", name="cap_positive"),
                      sa.CheckConstraint("unified_price_fen IS NULL OR unified_price_fen <= cap_unit_price_fen",
                                         name="unified_within_cap"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    position: int  # the order the campaign listed its items in
    product_id: uuid.UUID = Field(foreign_key="products.id")
    cap_unit_price_fen: int = Field(sa_type=sa.BigInteger)
    locked_quantity: int | None = Field(None, sa_type=sa.BigInteger)  # aggregated at lock-demand
    unified_price_fen: int | None = Field(None, sa_type=sa.BigInteger)  # set at award


class InvitedSupplier(ProcurementTable, table=True):
    __tablename__ = "campaign_suppliers"

    campaign_id: uuid.UUID = Field(primary_key=True, foreign_key="campaigns.id")
    supplier_org_id: uuid.UUID = Field(primary_key=True)
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    name: str = Field(sa_type=sa.String(200))


class Offer(ProcurementTable, table=True):
    """One supplier's price for one item in one round. Sealed until that round closes."""

    __tablename__ = "offers"
    __table_args__ = (sa.CheckConstraint("unit_price_fen > 0", name="price_positive"),
                      sa.UniqueConstraint("campaign_id", "supplier_org_id", "round", "item_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    supplier_org_id: uuid.UUID
    round: int
    item_id: uuid.UUID = Field(foreign_key="campaign_items.id")
    unit_price_fen: int = Field(sa_type=sa.BigInteger)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class PanelMember(ProcurementTable, table=True):
    __tablename__ = "panel_members"

    campaign_id: uuid.UUID = Field(primary_key=True, foreign_key="campaigns.id")
    user_id: str = Field(primary_key=True, sa_type=sa.String(200))
    buyer_representative: bool = False  # else an expert (财政部令第74号)


class Evaluation(ProcurementTable, table=True):
    __tablename__ = "evaluations"
    __table_args__ = (sa.CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
                      sa.UniqueConstraint("campaign_id", "member_user_id", "supplier_org_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    member_user_id: str = Field(sa_type=sa.String(200))
    supplier_org_id: uuid.UUID
    score: int
    recommend: bool
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class Complaint(ProcurementTable, table=True):
    __tablename__ = "complaints"
    __table_args__ = (sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status_known"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    supplier_org_id: uuid.UUID
    reason: str = Field(sa_type=sa.Text)
    status: str = Field("open", sa_type=sa.String(20))
    resolution: str | None = Field(None, sa_type=sa.Text)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# SPEC: draft → demand_open → demand_locked → tendering → negotiation → standstill → awarded, and
# `cancelled` and `unsuccessful` from any open status. Commands that keep the status (a demand, an
# offer, a round, the panel, an evaluation, a complaint) still go through the table: they lock the
# campaign row and are refused once the campaign has moved past the state they belong to.
CAMPAIGN = StateMachine("campaign", Campaign, STATUSES, {
    "open_demand": ("draft", "demand_open", "demand_opened"),
    "declare_demand": ("demand_open", None, "demand_declared"),
    "lock_demand": ("demand_open", "demand_locked", "demand_locked"),
    "open_offers": ("demand_locked", "tendering", "offers_opened"),
    "submit_offer": (("tendering", "negotiation"), None, "offer_submitted"),
    "close_offers": ("tendering", "negotiation", "offers_closed"),
    "close_round": ("negotiation", None, "round_closed"),
    "open_round": ("negotiation", None, "round_opened"),
    "set_panel": (("draft", "demand_open", "demand_locked", "tendering", "negotiation"), None, "panel_set"),
    "evaluate": ("negotiation", None, "evaluated"),
    "award": ("negotiation", "standstill", "award_proposed"),
    "lodge_complaint": ("standstill", None, "complaint_lodged"),
    "withdraw_award": ("standstill", "negotiation", "award_withdrawn"),
    "finalize_award": ("standstill", "awarded", "awarded"),
    "cancel": (OPEN_STATUSES, "cancelled", "cancelled"),
    "declare_unsuccessful": (OPEN_STATUSES, "unsuccessful", "unsuccessful"),
})

COMPLAINT = StateMachine("complaint", Complaint, ("open", "upheld", "dismissed"), {
    "uphold": ("open", "upheld", "complaint_upheld"),
    "dismiss": ("open", "dismissed", "complaint_dismissed"),
})
