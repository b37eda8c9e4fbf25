"""Budget transfers (调剂): money moved between two approved lines of one org and fiscal year,
requested by the unit and decided by finance."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.bounds import FEN_MAX
from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.budget.models import BudgetTable

STATUSES = ("pending", "approved", "rejected")
REASON_MAX = 2000


class TransferBase(SQLModel):
    """What a transfer's requester gives, with its limits: the table and the request and answer
    schemas (transfers.schemas) derive from it, so column, 422 and OpenAPI agree."""

    from_line_id: uuid.UUID = Field(foreign_key="budget_lines.id", index=True)
    to_line_id: uuid.UUID = Field(foreign_key="budget_lines.id", index=True)
    amount_fen: int = Field(gt=0, le=FEN_MAX, sa_type=sa.BigInteger)
    reason: str = Field(min_length=1, max_length=REASON_MAX, sa_type=sa.Text)


class BudgetTransfer(BudgetTable, TransferBase, table=True):
    __tablename__ = "budget_transfers"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("from_line_id <> to_line_id", name="two_lines"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    fiscal_year: int
    status: str = Field("pending", sa_type=sa.String(20))
    requested_by: str = Field(sa_type=sa.String(200))
    decided_by: str | None = Field(None, sa_type=sa.String(200))
    decided_at: datetime | None = Field(None, sa_type=UTCDateTime)
    reject_reason: str | None = Field(None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# SPEC: pending until finance (not the requester) approves or rejects it.
TRANSFER = StateMachine("transfer", BudgetTransfer, STATUSES, {
    "approve": ("pending", "approved"),
    "reject": ("pending", "rejected"),
})
