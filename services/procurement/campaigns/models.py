"""Joint procurement campaigns: demand from many units, sealed offers, rounds, a panel, an award."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.procurement.models import Base

STATUSES = ("draft", "demand_open", "demand_locked", "tendering", "negotiation", "standstill", "awarded",
            "cancelled", "unsuccessful")
OPEN_STATUSES = ("draft", "demand_open", "demand_locked", "tendering", "negotiation", "standstill")


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'demand_open', 'demand_locked', 'tendering', 'negotiation', "
                           "'standstill', 'awarded', 'cancelled', 'unsuccessful')", name="status_known"),
        sa.CheckConstraint("min_offers >= 1 AND standstill_days >= 0 AND round >= 0", name="numbers_valid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(sa.String(300))
    lead_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    lead_org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    fiscal_year: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    min_offers: Mapped[int] = mapped_column()
    standstill_days: Mapped[int] = mapped_column()
    agreement_months: Mapped[int] = mapped_column(default=12)
    round: Mapped[int] = mapped_column(default=0)  # the current offer round; 0 before offers open
    round_open: Mapped[bool] = mapped_column(default=False)
    awarded_supplier_org_id: Mapped[uuid.UUID | None] = mapped_column()
    standstill_ends_at: Mapped[datetime | None] = mapped_column()
    awarded_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(sa.Text)  # why it was cancelled or unsuccessful
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Participant(Base):
    __tablename__ = "campaign_participants"

    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)


class Item(Base):
    __tablename__ = "campaign_items"
    __table_args__ = (sa.CheckConstraint("cap_unit_price_fen > 0", name="cap_positive"),
                      sa.CheckConstraint("unified_price_fen IS NULL OR unified_price_fen <= cap_unit_price_fen",
                                         name="unified_within_cap"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    position: Mapped[int] = mapped_column()  # the order the campaign listed its items in
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    cap_unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    locked_quantity: Mapped[int | None] = mapped_column(sa.BigInteger)  # aggregated at lock-demand
    unified_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)  # set at award


class InvitedSupplier(Base):
    __tablename__ = "campaign_suppliers"

    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class Demand(Base):
    __tablename__ = "demands"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('pending_budget', 'accepted', 'rejected', 'released')", name="status_known"),
        # One live demand per unit and item.
        sa.Index("uq_demands_live", "campaign_id", "org_id", "item_id", unique=True,
                 sqlite_where=sa.text("status IN ('pending_budget', 'accepted')"),
                 postgresql_where=sa.text("status IN ('pending_budget', 'accepted')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column()
    org_path: Mapped[str] = mapped_column(sa.String(2000))
    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaign_items.id"))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    budget_line_id: Mapped[uuid.UUID] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)  # quantity at the cap: what the budget holds
    status: Mapped[str] = mapped_column(sa.String(20), default="pending_budget")
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Offer(Base):
    """One supplier's price for one item in one round. Sealed until that round closes."""

    __tablename__ = "offers"
    __table_args__ = (sa.CheckConstraint("unit_price_fen > 0", name="price_positive"),
                      sa.UniqueConstraint("campaign_id", "supplier_org_id", "round", "item_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column()
    round: Mapped[int] = mapped_column()
    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaign_items.id"))
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PanelMember(Base):
    __tablename__ = "panel_members"

    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (sa.CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
                      sa.UniqueConstraint("campaign_id", "member_user_id", "supplier_org_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    member_user_id: Mapped[str] = mapped_column(sa.String(200))
    supplier_org_id: Mapped[uuid.UUID] = mapped_column()
    score: Mapped[int] = mapped_column()
    recommend: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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

# SPEC: pending_budget → accepted | rejected, and released when the campaign ends without it.
# Its history is the campaign's.
DEMAND = StateMachine("demand", Demand, ("pending_budget", "accepted", "rejected", "released"), {
    "accept": ("pending_budget", "accepted", "demand_accepted"),
    "reject": ("pending_budget", "rejected", "demand_rejected"),
    "release": (("pending_budget", "accepted"), "released", "demand_released"),
})

COMPLAINT = StateMachine("complaint", Complaint, ("open", "upheld", "dismissed"), {
    "uphold": ("open", "upheld", "complaint_upheld"),
    "dismiss": ("open", "dismissed", "complaint_dismissed"),
})
