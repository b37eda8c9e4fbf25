from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import FiscalYear
from kernel.deps import Orgs, Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.licenses.annual_reports import schemas, service
from services.licenses.visibility import IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["annual reports"])
DRAFT_ANSWERS = {409: {"description": "the org has a report for that year (annual-report-exists)"},
                 422: {"description": "the year has not begun (year-not-begun)"}}
FINAL = {409: {"description": "the report is submitted already (invalid-status): it no longer changes"}}


@router.post("/annual-reports", status_code=201, response_model=schemas.AnnualReportOut,
             openapi_extra={**IT_ADMINS, **gives(report_id="/id")}, responses=DRAFT_ANSWERS,
             summary="Drafts the org's annual report: a snapshot of its compliance report now.")
async def create_annual_report(data: schemas.AnnualReportCreate, principal: CurrentPrincipal, session: Session,
                               orgs: Orgs):
    return await service.create_report(session, orgs, principal, data)


@router.get("/annual-reports", response_model=schemas.ReportStatuses,
            openapi_extra={**SIGNED_IN, **gives(report_id="/report/id")},
            summary="The org's own report of the year and each child org's: missing, draft or submitted, and late.")
async def annual_report_statuses(org_id: uuid.UUID, year: FiscalYear, principal: CurrentPrincipal, session: Session,
                                 orgs: Orgs, cursor: Cursor = None, limit: Limit = 100):
    return await service.statuses(session, orgs, principal, org_id, year, cursor=cursor, limit=limit)


@router.get("/annual-reports/rollup", response_model=schemas.Rollup, openapi_extra=SIGNED_IN,
            summary="Sums the submitted reports of the subtree below the org: what it sends up.")
async def annual_report_rollup(org_id: uuid.UUID, year: FiscalYear, principal: CurrentPrincipal, session: Session,
                               orgs: Orgs):
    return await service.rollup(session, orgs, principal, org_id, year)


@router.get("/annual-reports/{report_id}", response_model=schemas.AnnualReportOut, openapi_extra=SIGNED_IN,
            summary="Gets an annual report with its snapshot.")
async def get_annual_report(report_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_report(session, principal, report_id)


@router.patch("/annual-reports/{report_id}", response_model=schemas.AnnualReportOut, openapi_extra=IT_ADMINS,
              responses=FINAL, summary="Edits a draft report; its snapshot is taken again.")
async def edit_annual_report(report_id: uuid.UUID, data: schemas.AnnualReportUpdate, principal: CurrentPrincipal,
                             session: Session, orgs: Orgs):
    return await service.edit_report(session, orgs, principal, report_id, data)


@router.post("/annual-reports/{report_id}/submit", response_model=schemas.AnnualReportOut, openapi_extra=IT_ADMINS,
             responses=FINAL, summary="Submits the report: it is final from then on.")
async def submit_annual_report(report_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.submit_report(session, principal, report_id)


@router.get("/annual-reports/{report_id}/history", response_model=Page[history.HistoryEntry],
            openapi_extra=SIGNED_IN, summary="Gets an annual report's history: drafted, edited, submitted.")
async def annual_report_history(report_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                                cursor: Cursor = None, limit: Limit = 100):
    await service.visible_report(session, principal, report_id)
    return await history.history_page(session, report_id, cursor=cursor, limit=limit)
