"""Findings: an auditor records one (the one write auditors have), an IT admin of the org resolves
it, an auditor verifies the rectification (closed) or reopens it. Overdue: not closed after its
due date (Beijing time)."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.bounds import CHINA
from kernel.contracts import FindingChanged
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from kernel.outbox import add_events
from kernel.transitions import Change, Note
from services.licenses import visibility
from services.licenses.catalogue import service as catalogue
from services.licenses.compliance import service as compliance
from services.licenses.devices.models import Device
from services.licenses.findings import schemas
from services.licenses.findings.models import FINDING, Finding
from services.licenses.pools.service import SOURCE
from services.licenses.visibility import IT_ADMINS


def today() -> date:
    """The day it is in China, where due dates are kept."""
    return utcnow().astimezone(CHINA).date()


def require_auditor(principal: Principal, org_path: str) -> None:
    """Recording, verifying and reopening findings is the auditors' (and admin's) one write."""
    if not (principal.covers(org_path) and ("auditor" in principal.roles or "admin" in principal.roles)):
        raise Forbidden("findings are recorded, verified and reopened by an auditor over the org")


def changed_event(finding: Finding, action: str):
    return new_event("licenses.finding.changed", FindingChanged(
        finding_id=finding.id, org_id=finding.org_id, status=finding.status, action=action,
        due_date=finding.due_date), source=SOURCE, about=finding.id)


def out(finding: Finding) -> schemas.FindingOut:
    return schemas.FindingOut.model_validate(
        {**finding.model_dump(), "overdue": finding.status != "closed" and finding.due_date < today()})


async def record_finding(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                         data: schemas.FindingCreate) -> schemas.FindingOut:
    org = await orgs.visible(session, principal, data.org_id)
    require_auditor(principal, org.path)
    if data.due_date < today():
        raise InvalidInput(f"the due date {data.due_date} has passed", slug="due-date-passed")
    if data.device_id is not None:
        device = await session.get(Device, data.device_id)
        if device is None or not device.org_path.startswith(org.path):
            raise InvalidInput(f"no device {data.device_id} in the org's subtree", slug="device-outside-org")
    if data.title_id is not None:
        await catalogue.title_for(session, data.title_id, "", "")  # 422 unknown-title
    finding = Finding(org_id=org.id, org_path=org.path, device_id=data.device_id, title_id=data.title_id,
                      description=data.description, due_date=data.due_date, status="open",
                      created_by=history.actor_of(principal))
    session.add(finding)
    await session.flush()
    await history.record(session, "finding", finding.id, "recorded", principal,
                         {"due_date": data.due_date.isoformat()})
    await add_events(session, [changed_event(finding, "recorded")])
    await session.commit()
    return out(finding)


async def visible_finding(session: AsyncSession, principal: Principal, finding_id: uuid.UUID) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None or not visibility.sees(principal, finding.org_path):
        raise NotFound(f"no finding {finding_id} in your subtree")
    return finding


def findings_query(principal: Principal, org: str | None, status: str | None, overdue: bool | None) -> sa.Select:
    """`org`: the path of the org whose subtree's findings are listed (None: the caller's)."""
    query = sa.select(Finding).where(visibility.scope(principal, Finding.org_path))
    if org is not None:
        query = query.where(Finding.org_path.startswith(org, autoescape=True))
    if status:
        query = query.where(Finding.status == status)
    if overdue is not None:
        late = sa.and_(Finding.status != "closed", Finding.due_date < today())
        query = query.where(late if overdue else ~late)
    return query


async def still_non_genuine(session: AsyncSession, finding: Finding) -> bool:
    """Whether the finding's title is still installed on its device and not genuine there, by the
    compliance report's own rule (`compliance.genuine_there`)."""
    if finding.device_id is None or finding.title_id is None:
        return False
    return await compliance.non_genuine_on(session, finding.device_id, finding.title_id)


async def change(session: AsyncSession, principal: Principal, finding: Finding, command: str,
                 values: dict, data: dict | None = None) -> schemas.FindingOut:
    now = utcnow()
    transition = FINDING[command]
    await FINDING.apply(session, command, finding.id, Note(principal, data), Change({**values, "updated_at": now}))
    await session.refresh(finding)
    await add_events(session, [changed_event(finding, transition.action)])
    await session.commit()
    return out(finding)


async def resolve(session: AsyncSession, principal: Principal, finding_id: uuid.UUID,
                  data: schemas.Resolution) -> schemas.FindingOut:
    finding = await visible_finding(session, principal, finding_id)
    IT_ADMINS.require(principal, finding.org_path)
    FINDING.require("resolve", finding.status)
    return await change(session, principal, finding, "resolve",
                        {"resolution_note": data.note, "resolved_at": utcnow()}, {"note": data.note})


async def verify(session: AsyncSession, principal: Principal, finding_id: uuid.UUID) -> schemas.FindingOut:
    finding = await visible_finding(session, principal, finding_id)
    require_auditor(principal, finding.org_path)
    FINDING.require("verify", finding.status)
    if await still_non_genuine(session, finding):
        raise Conflict("the title is still installed without a licence on the device", slug="still-non-genuine")
    return await change(session, principal, finding, "verify", {"closed_at": utcnow()})


async def reopen(session: AsyncSession, principal: Principal, finding_id: uuid.UUID,
                 data: schemas.Reopening) -> schemas.FindingOut:
    finding = await visible_finding(session, principal, finding_id)
    require_auditor(principal, finding.org_path)
    FINDING.require("reopen", finding.status)
    return await change(session, principal, finding, "reopen", {"reopen_reason": data.reason},
                        {"reason": data.reason})
