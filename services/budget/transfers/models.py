"""Budget transfers (调剂): money moved between two approved lines of one org and fiscal year,
requested by the unit and decided by finance."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.budget.models import Base

STATUSES = ("pending", "approved", "rejected")


class BudgetTransfer(Base):
    __tablename__ = "budget_transfers"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("from_line_id <> to_line_id", name="two_lines"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    fiscal_year: Mapped[int] = mapped_column()
    from_line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budget_lines.id"), index=True)
    to_line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budget_lines.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# SPEC: pending until finance (not the requester) approves or rejects it.
TRANSFER = StateMachine("transfer", BudgetTransfer, STATUSES, {
    "approve": ("pending", "approved"),
    "reject": ("pending", "rejected"),
})
