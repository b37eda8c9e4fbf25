from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import CurrentPrincipal
from kernel.bounds import FiscalYear, Word
from kernel.contracts import Category
from kernel.deps import Orgs, Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.budget.lines import schemas, service

router = APIRouter(prefix="/api/v1/budget", tags=["budget lines"])
READERS = {"x-roles": ["authenticated"]}
EDITORS = {"x-roles": ["budget_editor"]}
FINANCE = {"x-roles": ["finance"]}


@router.post("/lines", status_code=201, response_model=schemas.LineOut,
             openapi_extra={**EDITORS, **gives(line_id="/id", fiscal_year="/fiscal_year")},
             summary="Drafts a budget line for an org, fiscal year and category.")
async def create_line(data: schemas.LineCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.create_line(session, orgs, principal, data)


@router.get("/lines", response_model=Page[schemas.LineOut],
            openapi_extra={**READERS, **gives(line_id="/items/0/id", fiscal_year="/items/0/fiscal_year")},
            summary="Lists budget lines in the caller's subtree.")
async def list_lines(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                     fiscal_year: FiscalYear | None = None, status: Word | None = None,
                     category: Category | None = None,
                     cursor: Cursor = None, limit: Limit = 100):
    return await service.list_lines(session, principal, org_id=org_id, fiscal_year=fiscal_year, status=status,
                                    category=category, cursor=cursor, limit=limit)


@router.get("/lines/{line_id}", response_model=schemas.LineOut, openapi_extra=READERS,
            summary="Gets a budget line with its figures.")
async def get_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_line(session, principal, line_id)


@router.patch("/lines/{line_id}", response_model=schemas.LineOut, openapi_extra=EDITORS,
              summary="Edits a draft line.")
async def update_line(line_id: uuid.UUID, data: schemas.LineUpdate, principal: CurrentPrincipal, session: Session,
                      orgs: Orgs):
    return await service.update_line(session, orgs, principal, line_id, data)


@router.post("/lines/{line_id}/submit", response_model=schemas.LineOut, openapi_extra=EDITORS,
             summary="Submits a draft line to finance.")
async def submit_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.submit_line(session, principal, line_id)


@router.post("/lines/{line_id}/approve", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Approves a submitted line with an amount (finance over the org; not the submitter).")
async def approve_line(line_id: uuid.UUID, data: schemas.Approve, principal: CurrentPrincipal, session: Session):
    return await service.approve_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/reject", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Rejects a submitted line, with a reason.")
async def reject_line(line_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal, session: Session):
    return await service.reject_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/return", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Returns a submitted line to draft, with a reason.")
async def return_line(line_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal, session: Session):
    return await service.return_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/control", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Sets a control figure on a submitted line and returns it to draft (二上二下).")
async def control_line(line_id: uuid.UUID, data: schemas.Control, principal: CurrentPrincipal, session: Session):
    return await service.control_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/close", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Closes an approved line at year end.")
async def close_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.close_line(session, principal, line_id)


@router.post("/lines/{line_id}/adjustments", response_model=schemas.LineOut, openapi_extra=FINANCE,
             summary="Adjusts an approved line's funds up or down, with a reason.")
async def adjust_line(line_id: uuid.UUID, data: schemas.Adjustment, principal: CurrentPrincipal, session: Session):
    return await service.adjust_line(session, principal, line_id, data)


@router.get("/lines/{line_id}/entries", response_model=Page[schemas.EntryOut], openapi_extra=READERS,
            summary="Lists the line's ledger: every movement behind its figures.")
async def line_entries(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session, cursor: Cursor = None,
                       limit: Limit = 200):
    return await service.line_entries(session, principal, line_id, cursor=cursor, limit=limit)


@router.get("/lines/{line_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=READERS,
            summary="Gets a line's history: who did what, when.")
async def line_history(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.line_history(session, principal, line_id, cursor=cursor, limit=limit)


@router.get("/summary", response_model=schemas.Summary, openapi_extra=READERS,
            summary="Sums an org subtree's lines of a fiscal year by org and category, with execution rates.")
async def summary(org_id: uuid.UUID, fiscal_year: FiscalYear, principal: CurrentPrincipal, session: Session,
                  orgs: Orgs):
    return await service.summary(session, orgs, principal, org_id, fiscal_year)
