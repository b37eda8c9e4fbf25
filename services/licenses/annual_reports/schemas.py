from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import FiscalYear, Text


class AnnualReportCreate(RequestSchema):
    org_id: uuid.UUID
    year: FiscalYear
    responsible_person: Text(100)
    phone: Text(40)
    notes: Text(2000, min_length=0) | None = None


class AnnualReportUpdate(RequestSchema):
    """Edits a draft; its snapshot is taken again at that moment."""

    responsible_person: Text(100) | None = None
    phone: Text(40) | None = None
    notes: Text(2000, min_length=0) | None = None


class AnnualReportOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    year: int
    responsible_person: str
    phone: str
    notes: str | None
    status: str
    snapshot: dict[str, Any]
    submitted_at: datetime | None
    late: bool | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class ChildStatus(ResponseSchema):
    org_id: uuid.UUID
    org_name: str
    status: str  # missing | draft | submitted
    # Submitted after its deadline; for a report not submitted, whether its deadline has passed.
    late: bool
    report_id: uuid.UUID | None
    submitted_at: datetime | None
    due_at: datetime


class ReportStatuses(ResponseSchema):
    """The org's own report and a page of its child orgs' statuses (`items`)."""

    org_id: uuid.UUID
    year: int
    due_at: datetime
    report: AnnualReportOut | None
    items: list[ChildStatus]
    next_cursor: str | None


class Rollup(ResponseSchema):
    """The submitted reports of the subtree below the org summed, in the compliance report's shape
    (computers, the categories, titles): for each branch, its highest submitted report counts."""

    org_id: uuid.UUID
    year: int
    reports: int
    computers: dict[str, int]
    os: dict[str, Any]
    office: dict[str, Any]
    antivirus: dict[str, Any]
    business: dict[str, Any]
    titles: list[dict[str, Any]]
