from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.deps import Orgs, Session
from kernel.exports import Column, export, export_routes, org_names, query_rows
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.licenses.findings import schemas, service
from services.licenses.findings.models import Finding
from services.licenses.visibility import AUDITORS, IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["findings"])
RECORD_ANSWERS = {422: {"description": "the due date has passed (due-date-passed), or the device is not of the "
                                      "org's subtree (device-outside-org)"}}
STATUS_ANSWERS = {409: {"description": "the finding is not in a status that allows this (invalid-status), or "
                                      "its title is still non-genuine on its device (still-non-genuine)"}}


@router.post("/findings", status_code=201, response_model=schemas.FindingOut,
             openapi_extra={**AUDITORS, **gives(finding_id="/id")}, responses=RECORD_ANSWERS,
             summary="Records a finding to be rectified by its due date (auditors).")
async def create_finding(data: schemas.FindingCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.record_finding(session, orgs, principal, data)


@router.get("/findings", response_model=Page[schemas.FindingOut],
            openapi_extra={**SIGNED_IN, **gives(finding_id="/items/0/id")},
            summary="Lists findings of an org's subtree, by status, and overdue ones (not closed after the due date).")
async def list_findings(principal: CurrentPrincipal, session: Session, orgs: Orgs, org_id: uuid.UUID | None = None,
                        status: Literal["open", "resolved", "closed"] | None = None, overdue: bool | None = None,
                        cursor: Cursor = None, limit: Limit = 100):
    org = (await orgs.visible(session, principal, org_id)).path if org_id else None
    items, next_cursor = await paginate(session, service.findings_query(principal, org, status, overdue), Finding.id,
                                        cursor=cursor, limit=limit)
    return Page(items=[service.out(f) for f in items], next_cursor=next_cursor)


@router.get("/findings/{finding_id}", response_model=schemas.FindingOut, openapi_extra=SIGNED_IN,
            summary="Gets a finding.")
async def get_finding(finding_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return service.out(await service.visible_finding(session, principal, finding_id))


@router.get("/findings/{finding_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a finding's history: recorded, resolved, verified, reopened.")
async def finding_history(finding_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                          cursor: Cursor = None, limit: Limit = 100):
    await service.visible_finding(session, principal, finding_id)
    return await history.history_page(session, finding_id, cursor=cursor, limit=limit)


@router.post("/findings/{finding_id}/resolve", response_model=schemas.FindingOut, openapi_extra=IT_ADMINS,
             responses=STATUS_ANSWERS, summary="Resolves an open finding, with a note (IT admins of the org).")
async def resolve_finding(finding_id: uuid.UUID, data: schemas.Resolution, principal: CurrentPrincipal,
                          session: Session):
    return await service.resolve(session, principal, finding_id, data)


@router.post("/findings/{finding_id}/verify", response_model=schemas.FindingOut, openapi_extra=AUDITORS,
             responses=STATUS_ANSWERS, summary="Verifies a resolved finding's rectification: it is closed (auditors).")
async def verify_finding(finding_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.verify(session, principal, finding_id)


@router.post("/findings/{finding_id}/reopen", response_model=schemas.FindingOut, openapi_extra=AUDITORS,
             responses=STATUS_ANSWERS, summary="Reopens a resolved finding, with a reason (auditors).")
async def reopen_finding(finding_id: uuid.UUID, data: schemas.Reopening, principal: CurrentPrincipal,
                         session: Session):
    return await service.reopen(session, principal, finding_id, data)


FINDING_COLUMNS = [
    Column("id", "整改事项编号", "Finding id"), Column("org_id", "单位编号", "Org id"),
    Column("description", "问题描述", "Description"), Column("status", "状态", "Status"),
    Column("due_date", "整改期限", "Due"), Column("overdue", "是否逾期", "Overdue"),
    Column("resolution_note", "整改说明", "Resolution"), Column("device_id", "设备编号", "Device id"),
    Column("title_id", "软件编号", "Title id"), Column("created_at", "记录时间", "Recorded", "time"),
    Column("closed_at", "销号时间", "Closed", "time"),
]


@export_routes(router, "/findings", openapi_extra=SIGNED_IN,
               summary="The findings of an org's subtree as a spreadsheet (the list's filters).")
async def export_findings(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                          org_id: uuid.UUID | None = None,
                          status: Literal["open", "resolved", "closed"] | None = None, overdue: bool | None = None):
    org = (await orgs.visible(session, principal, org_id)).path if org_id else None
    query = service.findings_query(principal, org, status, overdue)
    return await export(request, "findings", FINDING_COLUMNS, query_rows(session, query, Finding.id, service.out),
                        names=org_names(session, orgs))
