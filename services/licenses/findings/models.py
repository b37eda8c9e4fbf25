"""Findings (整改事项, 审计整改跟踪机制 seeds/003 §6): what an audit or inspection found at a unit, to
be rectified by a due date, and closed only when an auditor has verified the rectification."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable


class Finding(LicensesTable, table=True):
    __tablename__ = "findings"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'resolved', 'closed')", name="status_known"),
        sa.Index("ix_findings_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(sa_type=sa.String(2000))
    device_id: uuid.UUID | None = Field(None, foreign_key="devices.id", index=True)
    title_id: uuid.UUID | None = Field(None, foreign_key="catalogue_titles.id")
    description: str = Field(sa_type=sa.String(2000))
    due_date: date
    status: str = Field("open", sa_type=sa.String(20))
    # The latest resolution's note and the latest reopening's reason; each is in the history too.
    resolution_note: str | None = Field(None, sa_type=sa.String(2000))
    reopen_reason: str | None = Field(None, sa_type=sa.String(2000))
    created_by: str = Field(sa_type=sa.String(200))
    resolved_at: datetime | None = Field(None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# An it_admin resolves; an auditor verifies (closed) or reopens; closed is final.
FINDING = StateMachine("finding", Finding, ("open", "resolved", "closed"), {
    "resolve": ("open", "resolved"),
    "verify": ("resolved", "closed", "verified"),
    "reopen": ("resolved", "open"),
})
