from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, UploadFile

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import FiscalYear, Word
from kernel.contracts import Category
from kernel.deps import Orgs, Session
from kernel.etags import IfMatch, with_etag
from kernel.exports import Column, english, every_page, export, export_routes, listed, org_names
from kernel.imports import RELEASES_MEMORY, TEMPLATE_RESPONSES, ImportOut, headers_of, template
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.budget import visibility
from services.budget.lines import imports, schemas, service

router = APIRouter(prefix="/api/v1/budget", tags=["budget lines"])


@router.post("/lines", status_code=201, response_model=schemas.LineOut,
             openapi_extra={**visibility.EDITORS, **gives(line_id="/id", fiscal_year="/fiscal_year")},
             summary="Drafts a budget line for an org, fiscal year and category.")
async def create_line(data: schemas.LineCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.create_line(session, orgs, principal, data)


@router.post("/lines:import", response_model=ImportOut, openapi_extra=visibility.EDITORS,
             dependencies=[RELEASES_MEMORY],
             summary="Drafts or updates budget lines from a spreadsheet (CSV in UTF-8 or GB18030, or XLSX), all rows "
                     "or none: a file with a bad row answers every row's error.")
async def import_lines(file: UploadFile, request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                       org_id: uuid.UUID | None = None, dry_run: bool = False):
    return await imports.import_lines(session, orgs, principal, org_id, file, dry_run=dry_run,
                                      english=english(request))


@router.get("/lines:import-template.xlsx", openapi_extra=visibility.EDITORS, response_class=Response,
            responses=TEMPLATE_RESPONSES,
            summary="Gets the budget lines import template: an XLSX workbook with the Chinese headers.")
async def lines_import_template(principal: CurrentPrincipal):
    visibility.EDITORS.require(principal, principal.org_path)
    return template("lines", headers_of(imports.FIELDS))


@router.get("/lines", response_model=Page[schemas.LineOut],
            openapi_extra={**SIGNED_IN, **gives(line_id="/items/0/id", fiscal_year="/items/0/fiscal_year")},
            summary="Lists budget lines in the caller's subtree.")
async def list_lines(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                     fiscal_year: FiscalYear | None = None, status: Word | None = None,
                     category: Category | None = None,
                     cursor: Cursor = None, limit: Limit = 100):
    return await service.list_lines(session, principal, org_id=org_id, fiscal_year=fiscal_year, status=status,
                                    category=category, cursor=cursor, limit=limit)


@router.get("/lines/{line_id}", response_model=schemas.LineOut, openapi_extra=SIGNED_IN,
            summary="Gets a budget line with its figures.")
async def get_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session, response: Response):
    line = await service.visible_line(session, principal, line_id)
    with_etag(response, service.line_etag(line))
    return line


@router.patch("/lines/{line_id}", response_model=schemas.LineOut, openapi_extra=visibility.EDITORS,
              summary="Edits a draft line.")
async def update_line(line_id: uuid.UUID, data: schemas.LineUpdate, principal: CurrentPrincipal, session: Session,
                      orgs: Orgs, response: Response, if_match: IfMatch = None):
    line = await service.update_line(session, orgs, principal, line_id, data, if_match=if_match)
    with_etag(response, service.line_etag(line))
    return line


@router.post("/lines/{line_id}/submit", response_model=schemas.LineOut, openapi_extra=visibility.EDITORS,
             summary="Submits a draft line to finance.")
async def submit_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.submit_line(session, principal, line_id)


@router.post("/lines/{line_id}/approve", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Approves a submitted line with an amount (finance over the org; not the submitter).")
async def approve_line(line_id: uuid.UUID, data: schemas.Approve, principal: CurrentPrincipal, session: Session):
    return await service.approve_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/reject", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Rejects a submitted line, with a reason.")
async def reject_line(line_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal, session: Session):
    return await service.reject_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/return", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Returns a submitted line to draft, with a reason.")
async def return_line(line_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal, session: Session):
    return await service.return_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/control", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Sets a control figure on a submitted line and returns it to draft (二上二下).")
async def control_line(line_id: uuid.UUID, data: schemas.Control, principal: CurrentPrincipal, session: Session):
    return await service.control_line(session, principal, line_id, data)


@router.post("/lines/{line_id}/close", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Closes an approved line at year end.")
async def close_line(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.close_line(session, principal, line_id)


@router.post("/lines/{line_id}/adjustments", response_model=schemas.LineOut, openapi_extra=visibility.FINANCE,
             summary="Adjusts an approved line's funds up or down, with a reason.")
async def adjust_line(line_id: uuid.UUID, data: schemas.Adjustment, principal: CurrentPrincipal, session: Session):
    return await service.adjust_line(session, principal, line_id, data)


@router.get("/lines/{line_id}/entries", response_model=Page[schemas.EntryOut], openapi_extra=SIGNED_IN,
            summary="Lists the line's ledger: every movement behind its figures.")
async def line_entries(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session, cursor: Cursor = None,
                       limit: Limit = 200):
    return await service.line_entries(session, principal, line_id, cursor=cursor, limit=limit)


@router.get("/lines/{line_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a line's history: who did what, when.")
async def line_history(line_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.line_history(session, principal, line_id, cursor=cursor, limit=limit)


@router.get("/summary", response_model=schemas.Summary, openapi_extra=SIGNED_IN,
            summary="Sums an org subtree's lines of a fiscal year by org and category, with execution rates.")
async def summary(org_id: uuid.UUID, fiscal_year: FiscalYear, principal: CurrentPrincipal, session: Session,
                  orgs: Orgs):
    return await service.summary(session, orgs, principal, org_id, fiscal_year)


LINE_COLUMNS = [
    Column("id", "预算项目编号", "Line id"), Column("org_id", "单位编号", "Org id"),
    Column("fiscal_year", "年度", "Fiscal year", "int"), Column("category", "类别", "Category"),
    Column("edition", "版本", "Edition"), Column("title", "项目名称", "Title"),
    Column("quantity", "数量", "Quantity", "int"),
    Column("unit_price_fen", "单价（元）", "Unit price (元)", "money"),
    Column("status", "状态", "Status"), Column("requested_fen", "申请金额（元）", "Requested (元)", "money"),
    Column("control_fen", "控制数（元）", "Control figure (元)", "money"),
    Column("approved_fen", "批复金额（元）", "Approved (元)", "money"),
    Column("adjusted_fen", "调整金额（元）", "Adjusted (元)", "money"),
    Column("pre_encumbered_fen", "预占金额（元）", "Pre-encumbered (元)", "money"),
    Column("reserved_fen", "冻结金额（元）", "Reserved (元)", "money"),
    Column("spent_fen", "已支出（元）", "Spent (元)", "money"),
    Column("available_fen", "可用金额（元）", "Available (元)", "money"),
    Column("procurement_method", "采购方式", "Procurement method"),
    Column("justification", "申请理由", "Justification"),
    Column("created_at", "创建时间", "Created", "time"),
    Column("updated_at", "更新时间", "Updated", "time"),
]


@export_routes(router, "/lines", openapi_extra=SIGNED_IN,
               summary="The budget lines of the caller's subtree as a spreadsheet (the list's filters).")
async def export_lines(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                       org_id: uuid.UUID | None = None, fiscal_year: FiscalYear | None = None,
                       status: Word | None = None, category: Category | None = None):
    async def fetch(cursor, limit):
        return await service.list_lines(session, principal, org_id=org_id, fiscal_year=fiscal_year, status=status,
                                        category=category, cursor=cursor, limit=limit)

    async def rows():  # each as the list answers it (its figures are computed)
        async for line in every_page(fetch):
            yield schemas.LineOut.model_validate(line)

    return await export(request, "budget-lines", LINE_COLUMNS, rows(), names=org_names(session, orgs))


ENTRY_COLUMNS = [
    Column("at", "时间", "Time", "time"), Column("kind", "类型", "Kind"),
    Column("amount_fen", "金额（元）", "Amount (元)", "money"), Column("reason", "理由", "Reason"),
    Column("actor", "操作人", "By"),
    Column("ref_id", "关联编号", "Reference"),
    Column("id", "分录编号", "Entry id"),
]


@export_routes(router, "/lines/{line_id}/entries", openapi_extra=SIGNED_IN,
               summary="A line's ledger as a spreadsheet.")
async def export_line_entries(request: Request, line_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    async def fetch(cursor, limit):
        return await service.line_entries(session, principal, line_id, cursor=cursor, limit=limit)

    return await export(request, "budget-line-ledger", ENTRY_COLUMNS, every_page(fetch))


SUMMARY_COLUMNS = [
    Column("org_name", "单位", "Org"),
    Column("category", "类别", "Category"),
    Column("lines", "项目数", "Lines", "int"),
    Column("requested_fen", "申请金额（元）", "Requested (元)", "money"),
    Column("approved_fen", "批复金额（元）", "Approved (元)", "money"),
    Column("pre_encumbered_fen", "预占金额（元）", "Pre-encumbered (元)", "money"),
    Column("reserved_fen", "冻结金额（元）", "Reserved (元)", "money"),
    Column("spent_fen", "已支出（元）", "Spent (元)", "money"),
    Column("available_fen", "可用金额（元）", "Available (元)", "money"),
    Column("execution_rate", "执行率", "Execution rate", "rate"), Column("org_id", "单位编号", "Org id"),
]


@export_routes(router, "/summary", openapi_extra=SIGNED_IN,
               summary="The execution summary of an org subtree and fiscal year as a spreadsheet, with its totals.")
async def export_summary(request: Request, org_id: uuid.UUID, fiscal_year: FiscalYear, principal: CurrentPrincipal,
                         session: Session, orgs: Orgs):
    answer = await service.summary(session, orgs, principal, org_id, fiscal_year)
    # The last row is the subtree's total (category `all`), as the answer's `totals`.
    return await export(request, "budget-summary", SUMMARY_COLUMNS, listed([*answer.rows, answer.totals]))
