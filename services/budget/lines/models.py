"""Budget lines: what a unit asked for, what finance approved, and where the money stands."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.budget.models import Base

STATUSES = ("draft", "submitted", "approved", "rejected", "closed")


class BudgetLine(Base):
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

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(sa.String(40))
    edition: Mapped[str | None] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    requested_fen: Mapped[int] = mapped_column(sa.BigInteger)
    justification: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    # What the policy said when the line was written: the cap that applied and whether the
    # special-need cap was used, and the procurement method its amount implies in its fiscal year
    # (below_threshold, decentralized_procurement, public_tender).
    cap_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    special_need: Mapped[bool] = mapped_column(default=False)
    procurement_method: Mapped[str] = mapped_column(sa.String(40))
    # 二上二下: the control figure finance set (一下) when it sent the line back; a resubmission
    # (二上) must keep within it. None on a line that took the short path.
    control_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    approved_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    adjusted_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    pre_encumbered_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    spent_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(sa.Text)
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    submitted_by: Mapped[str | None] = mapped_column(sa.String(200))
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

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
