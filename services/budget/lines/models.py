"""Budget lines: what a unit asked for, what finance approved, and where the money stands; and each
line's funds ledger, every movement of its money, appended and never changed (moved by ledger.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.budget.models import BudgetTable

STATUSES = ("draft", "submitted", "approved", "rejected", "closed")


class BudgetLine(BudgetTable, table=True):
    __tablename__ = "budget_lines"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'rejected', 'closed')", name="status_known"),
        sa.CheckConstraint("quantity > 0 AND unit_price_fen > 0", name="amounts_positive"),
        sa.CheckConstraint("approved_fen >= 0 AND approved_fen <= requested_fen", name="approved_within_requested"),
        sa.CheckConstraint("pre_encumbered_fen >= 0 AND reserved_fen >= 0 AND spent_fen >= 0",
                           name="counters_not_negative"),
        # The guarantee itself: no interleaving of pre-encumbrances, reservations, spending and
        # adjustments can take a line below zero, whatever the application code does.
        sa.CheckConstraint("approved_fen + adjusted_fen - pre_encumbered_fen - reserved_fen - spent_fen >= 0",
                           name="available_not_negative"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    fiscal_year: int = Field(index=True)
    category: str = Field(sa_type=sa.String(40))
    edition: str | None = Field(None, sa_type=sa.String(20))
    title: str = Field(sa_type=sa.String(300))
    quantity: int = Field(sa_type=sa.BigInteger)
    unit_price_fen: int = Field(sa_type=sa.BigInteger)
    requested_fen: int = Field(sa_type=sa.BigInteger)
    justification: str | None = Field(None, sa_type=sa.Text)
    status: str = Field("draft", sa_type=sa.String(20))
    # What the policy said when the line was written: the cap that applied and whether the
    # special-need cap was used, and the procurement method its amount implies in its fiscal year
    # (below_threshold, decentralized_procurement, public_tender).
    cap_fen: int | None = Field(None, sa_type=sa.BigInteger)
    special_need: bool = Field(False)
    procurement_method: str = Field(sa_type=sa.String(40))
    # 二上二下: the control figure finance set (一下) when it sent the line back; a resubmission
    # (二上) must keep within it. None on a line that took the short path.
    control_fen: int | None = Field(None, sa_type=sa.BigInteger)
    approved_fen: int = Field(0, sa_type=sa.BigInteger)
    adjusted_fen: int = Field(0, sa_type=sa.BigInteger)
    pre_encumbered_fen: int = Field(0, sa_type=sa.BigInteger)
    reserved_fen: int = Field(0, sa_type=sa.BigInteger)
    spent_fen: int = Field(0, sa_type=sa.BigInteger)
    note: str | None = Field(None, sa_type=sa.Text)
    return_reason: str | None = Field(None, sa_type=sa.Text)
    reject_reason: str | None = Field(None, sa_type=sa.Text)
    created_by: str = Field(sa_type=sa.String(200))
    submitted_by: str | None = Field(None, sa_type=sa.String(200))
    submitted_at: datetime | None = Field(None, sa_type=UTCDateTime)
    decided_by: str | None = Field(None, sa_type=sa.String(200))
    decided_at: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})

    @property
    def available_fen(self) -> int:
        return self.approved_fen + self.adjusted_fen - self.pre_encumbered_fen - self.reserved_fen - self.spent_fen


# SPEC: draft → submitted → approved | rejected, submitted → draft (returned, or with a control
# figure), approved → closed at year end. Editing and adjusting keep the status but must not
# interleave with a change of it.
LINE = StateMachine("line", BudgetLine, STATUSES, {
    "edit": ("draft", None, "edited"),
    "submit": ("draft", "submitted", "submitted"),
    "approve": ("submitted", "approved"),
    "reject": ("submitted", "rejected"),
    "return": ("submitted", "draft", "returned"),
    "control": ("submitted", "draft", "controlled"),
    "adjust": ("approved", None, "adjusted"),
    "close": ("approved", "closed"),
})


class YearClosure(BudgetTable, table=True):
    """A fiscal year closed over an org subtree (lines/closures.py reads it)."""

    __tablename__ = "fiscal_year_closures"
    __table_args__ = (sa.UniqueConstraint("org_path", "fiscal_year"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID
    org_path: str = Field(sa_type=sa.String(2000))
    fiscal_year: int
    closed_by: str = Field(sa_type=sa.String(200))
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# A `transfer` is signed like an adjustment: negative on the line it leaves, positive on the one it
# reaches; its ref_id is the transfer.
LEDGER_KINDS = ("approve", "adjust", "transfer", "preencumber", "release_preencumbrance", "reserve", "release", "spend")


class LedgerEntry(BudgetTable, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('approve', 'adjust', 'transfer', 'preencumber', 'release_preencumbrance', "
                           "'reserve', 'release', 'spend')", name="kind_known"),
        # One effect per business fact: a demand pre-encumbers once, an order reserves, releases
        # and spends once each, whichever event (or copy of it) brings the fact.
        sa.UniqueConstraint("line_id", "kind", "ref_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    line_id: uuid.UUID = Field(foreign_key="budget_lines.id", index=True)
    kind: str = Field(sa_type=sa.String(30))
    # Signed as it moves the figure named by `kind` (a release is the negative of what it frees).
    amount_fen: int = Field(sa_type=sa.BigInteger)
    ref_id: uuid.UUID | None = None  # the demand or order
    demand_id: uuid.UUID | None = Field(None, index=True)
    reason: str | None = Field(None, sa_type=sa.Text)
    actor: str = Field(sa_type=sa.String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
