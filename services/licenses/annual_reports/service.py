"""Annual reports: a draft freezes the org's compliance report of the moment, submitting makes it
final, and each level sums what the units below it submitted (what a province sends up)."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.bounds import CHINA
from kernel.contracts import AnnualReportSubmitted
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.notices import ancestors_and_self
from kernel.orgs import OrgDirectory
from kernel.pagination import decode_cursor, encode_cursor
from kernel.schema import orgs as orgs_table
from kernel.transitions import Change, Note
from services.licenses import policy_copy, visibility
from services.licenses.annual_reports import schemas
from services.licenses.annual_reports.models import ANNUAL_REPORT, AnnualReport
from services.licenses.compliance import service as compliance
from services.licenses.pools.service import SOURCE

# What the roll-up does not sum: who and when (the roll-up says its own), and the devices each
# unit names (a province's answer would list every computer of the province).
IDENTITY = ("org_id", "org_name", "as_of")
DEVICE_LISTS = frozenset({"devices_without_license", "devices_over_limit", "unapproved_installs"})


def countable(value: Any) -> Any:
    """The part of a compliance report that adds up across units."""
    if isinstance(value, dict):
        return {k: countable(v) for k, v in value.items() if k not in DEVICE_LISTS}
    if isinstance(value, list):
        return [countable(v) for v in value]
    return value


def entry_key(entry: Any) -> str | None:
    """What one entry of a counted list is about: a title (by id), or a software name; None for
    anything else, which a sum cannot merge."""
    if isinstance(entry, dict):
        return entry.get("title_id") or entry.get("name")
    return None


def add_up(total: Any, part: Any) -> Any:
    """`total` plus `part`, field by field: numbers added, mappings merged, lists of titles or
    names merged per title or name; any other value (a title's name) is the first one seen."""
    if isinstance(total, bool) or isinstance(part, bool):
        return total
    if isinstance(total, int) and isinstance(part, int):
        return total + part
    if isinstance(total, dict) and isinstance(part, dict):
        merged = dict(total)
        for key, value in part.items():
            merged[key] = add_up(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if isinstance(total, list) and isinstance(part, list):
        by_key = {entry_key(e): e for e in total if entry_key(e) is not None}
        for entry in part:
            key = entry_key(entry)
            if key is not None:
                by_key[key] = add_up(by_key[key], entry) if key in by_key else copy.deepcopy(entry)
        return sorted(by_key.values(), key=lambda e: (str(e.get("category", "")), str(e.get("name", "")),
                                                      str(entry_key(e))))
    return total


def empty_totals() -> dict[str, Any]:
    return {"computers": {"total": 0, "desktop": 0, "laptop": 0, "server": 0},
            **{category: {"genuine": 0, "non_genuine": 0, "genuine_software": [], "non_genuine_software": []}
               for category in compliance.CATEGORIES},
            "titles": []}


def this_year_in_china() -> int:
    return utcnow().astimezone(CHINA).year


async def snapshot_of(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                      org_id: uuid.UUID) -> tuple[dict, dict]:
    """The org's compliance report now, as stored JSON, and its countable part."""
    report = await compliance.position(session, orgs, principal, org_id, utcnow())
    snapshot = orjson.loads(orjson.dumps(report, default=str))
    totals = countable({k: v for k, v in snapshot.items() if k not in IDENTITY})
    return snapshot, totals


async def create_report(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                        data: schemas.AnnualReportCreate) -> AnnualReport:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.IT_ADMINS.require(principal, org.path)
    if data.year > this_year_in_china():
        raise InvalidInput(f"the year {data.year} has not begun", slug="year-not-begun")
    snapshot, totals = await snapshot_of(session, orgs, principal, org.id)
    report = AnnualReport(org_id=org.id, org_path=org.path, year=data.year,
                          responsible_person=data.responsible_person, phone=data.phone, notes=data.notes,
                          status="draft", snapshot=snapshot, totals=totals, created_by=history.actor_of(principal))
    session.add(report)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"the org has a report for {data.year} already", slug="annual-report-exists") from exc
    await history.record(session, "annual_report", report.id, "drafted", principal, {"year": data.year})
    await session.commit()
    return report


async def visible_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> AnnualReport:
    report = await session.get(AnnualReport, report_id)
    if report is None or not visibility.sees(principal, report.org_path):
        raise NotFound(f"no annual report {report_id} in your subtree")
    return report


async def edit_report(session: AsyncSession, orgs: OrgDirectory, principal: Principal, report_id: uuid.UUID,
                      data: schemas.AnnualReportUpdate) -> AnnualReport:
    report = await visible_report(session, principal, report_id)
    visibility.IT_ADMINS.require(principal, report.org_path)
    ANNUAL_REPORT.require("edit", report.status)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("responsible_person", "") is None or changes.get("phone", "") is None:
        raise InvalidInput("responsible_person and phone cannot be emptied", slug="required-field")
    snapshot, totals = await snapshot_of(session, orgs, principal, report.org_id)
    await ANNUAL_REPORT.apply(session, "edit", report.id, Note(principal, {"fields": sorted(changes)}),
                              Change({**changes, "snapshot": snapshot, "totals": totals}))
    await session.commit()
    await session.refresh(report)
    return report


async def deadline(session: AsyncSession, org_path: str, year: int) -> datetime:
    return (await policy_copy.effective_policy(session, org_path)).annual_report_deadline(year)


async def submit_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> AnnualReport:
    report = await visible_report(session, principal, report_id)
    visibility.IT_ADMINS.require(principal, report.org_path)
    ANNUAL_REPORT.require("submit", report.status)
    now = utcnow()
    late = now > await deadline(session, report.org_path, report.year)
    event = new_event("licenses.annual_report.submitted", AnnualReportSubmitted(
        annual_report_id=report.id, org_id=report.org_id, year=report.year, submitted_at=now, late=late),
        source=SOURCE, about=report.id)
    await ANNUAL_REPORT.apply(session, "submit", report.id, Note(principal, {"late": late}),
                              Change({"submitted_at": now, "late": late, "updated_at": now}, events=[event]))
    await session.commit()
    await session.refresh(report)
    return report


async def statuses(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                   year: int, *, cursor: str | None, limit: int) -> schemas.ReportStatuses:
    """The org's own report of the year, and a page of its child orgs with the state of theirs."""
    org = await orgs.visible(session, principal, org_id)
    own = (await session.execute(sa.select(AnnualReport).where(AnnualReport.org_id == org.id,
                                                               AnnualReport.year == year))).scalar()
    query = (sa.select(orgs_table.c.id, orgs_table.c.name, orgs_table.c.path, AnnualReport.id.label("report_id"),
                       AnnualReport.status, AnnualReport.submitted_at, AnnualReport.late)
             .outerjoin(AnnualReport, sa.and_(AnnualReport.org_id == orgs_table.c.id, AnnualReport.year == year))
             .where(orgs_table.c.parent_id == org.id))
    if cursor:
        query = query.where(orgs_table.c.id > decode_cursor(cursor))
    rows = (await session.execute(query.order_by(orgs_table.c.id).limit(limit + 1))).all()
    page = rows[:limit]
    due = await policy_copy.effective_policies(session, {org.path, *(row.path for row in page)})
    now = utcnow()
    items = []
    for row in page:
        due_at = due[row.path].annual_report_deadline(year)
        status = row.status or "missing"
        items.append(schemas.ChildStatus(
            org_id=row.id, org_name=row.name, status=status, report_id=row.report_id, submitted_at=row.submitted_at,
            late=bool(row.late) if status == "submitted" else now > due_at, due_at=due_at))
    return schemas.ReportStatuses(
        org_id=org.id, year=year, due_at=due[org.path].annual_report_deadline(year),
        report=schemas.AnnualReportOut.model_validate(own) if own else None, items=items,
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None)


async def rollup(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                 year: int) -> schemas.Rollup:
    """Sums the submitted reports of the org's subtree below it, one statement for all of them.

    Each report already covers its org's whole subtree, so a branch counts once: by its highest
    submitted report (a department's, which holds its schools'), and by the units' own reports
    only where no report above them in the branch was submitted."""
    org = await orgs.visible(session, principal, org_id)
    rows = (await session.execute(sa.select(AnnualReport.org_path, AnnualReport.totals).where(
        AnnualReport.year == year, AnnualReport.status == "submitted",
        AnnualReport.org_path.startswith(org.path, autoescape=True), AnnualReport.org_path != org.path))).all()
    submitted = {row.org_path for row in rows}
    total, counted = empty_totals(), 0
    for row in rows:
        above = ancestors_and_self(row.org_path)[:-1]
        if any(path in submitted and len(path) > len(org.path) for path in above):
            continue
        total = add_up(total, row.totals)
        counted += 1
    return schemas.Rollup(org_id=org.id, year=year, reports=counted, **total)
