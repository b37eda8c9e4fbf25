"""Annual reports (年度报告, 国办发〔2013〕88号 Art. 8): a unit's compliance position for a year, frozen
when submitted, and summed by each level for the level above."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import JSONType, UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable


class AnnualReport(LicensesTable, table=True):
    __tablename__ = "annual_reports"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'submitted')", name="status_known"),
        # One report per org and year: a second draft would leave the parent two answers.
        sa.UniqueConstraint("org_id", "year"),
        # The roll-up reads the submitted reports of a subtree for one year.
        sa.Index("ix_annual_reports_year_org_path", "year", "org_path",
                 postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID
    org_path: str = Field(sa_type=sa.String(2000))
    year: int = Field(sa_type=sa.SmallInteger)
    responsible_person: str = Field(sa_type=sa.String(100))
    phone: str = Field(sa_type=sa.String(40))
    notes: str | None = Field(None, sa_type=sa.String(2000))
    status: str = Field("draft", sa_type=sa.String(20))
    # The body of GET /compliance for the org when the draft was made (or last edited).
    snapshot: dict = Field(sa_type=JSONType)
    # Its countable part (computers, categories, titles; no device lists), what the roll-up sums:
    # a province's roll-up reads two thousand of these, not two thousand device lists.
    totals: dict = Field(sa_type=JSONType)
    submitted_at: datetime | None = Field(None, sa_type=UTCDateTime)
    # Submitted after the year's deadline (policy `annual_report_due`) as it stood at the submission.
    late: bool | None = None
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# Submitted is final: an edit or a second submission answers 409.
ANNUAL_REPORT = StateMachine("annual report", AnnualReport, ("draft", "submitted"), {
    "edit": ("draft", None, "edited"),
    "submit": ("draft", "submitted", "submitted"),
})
