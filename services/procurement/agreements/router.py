from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Orgs, Session
from kernel.exports import Column, every_page, export, export_routes, org_names
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.procurement.agreements import schemas, service
from services.procurement.visibility import PROCUREMENT

router = APIRouter(prefix="/api/v1/procurement", tags=["agreements"])


@router.get("/agreements", response_model=Page[schemas.AgreementOut],
            openapi_extra={**SIGNED_IN, **gives(agreement_id="/items/0/id")},
            summary="Lists agreements of the caller's campaigns (lead, participant or winning supplier).")
async def list_agreements(principal: CurrentPrincipal, session: Session, status: Word | None = None,
                          cursor: Cursor = None, limit: Limit = 100):
    return await service.list_agreements(session, principal, status=status, cursor=cursor, limit=limit)


@router.get("/agreements/{agreement_id}", response_model=schemas.AgreementOut, openapi_extra=SIGNED_IN,
            summary="Gets an agreement with its unified prices.")
async def get_agreement(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.agreement_out(session, await service.visible_agreement(session, principal, agreement_id))


async def _change(session, principal, agreement_id, action):
    agreement = await service.change_status(session, principal, agreement_id, action)
    return await service.agreement_out(session, agreement)


@router.post("/agreements/{agreement_id}/suspend", response_model=schemas.AgreementOut, openapi_extra=PROCUREMENT,
             summary="Suspends an agreement: no orders until it resumes.")
async def suspend(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "suspend")


@router.post("/agreements/{agreement_id}/resume", response_model=schemas.AgreementOut, openapi_extra=PROCUREMENT,
             summary="Resumes a suspended agreement.")
async def resume(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "resume")


@router.post("/agreements/{agreement_id}/terminate", response_model=schemas.AgreementOut, openapi_extra=PROCUREMENT,
             summary="Ends an agreement for good; remaining demand pre-encumbrances are released.")
async def terminate(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "terminate")


@router.get("/agreements/{agreement_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets an agreement's history.")
async def agreement_history(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.agreement_history(session, principal, agreement_id, cursor=cursor, limit=limit)


# One row per item of an agreement: the unified price is per item.
AGREEMENT_COLUMNS = [
    Column("id", "协议编号", "Agreement id"), Column("campaign_id", "采购项目编号", "Campaign id"),
    Column("lead_org_id", "牵头单位编号", "Lead org id"),
    Column("supplier_org_id", "供应商编号", "Supplier id"),
    Column("status", "状态", "Status"), Column("item_id", "采购品目编号", "Item id"),
    Column("product_id", "产品编号", "Product id"),
    Column("unit_price_fen", "统一成交价（元）", "Unified price (元)", "money"),
    Column("cap_unit_price_fen", "最高限价（元）", "Price cap (元)", "money"),
    Column("valid_from", "有效期起", "Valid from", "time"),
    Column("valid_to", "有效期止", "Valid to", "time"),
]


@export_routes(router, "/agreements", openapi_extra=SIGNED_IN,
               summary="The agreements the caller may read as a spreadsheet, one row per item.")
async def export_agreements(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                            status: Word | None = None):
    async def fetch(cursor, limit):
        return await service.list_agreements(session, principal, status=status, cursor=cursor, limit=limit)

    async def rows():
        async for agreement in every_page(fetch):
            whole = agreement.model_dump()
            for item in whole.pop("items"):
                yield {**whole, **item}

    return await export(request, "agreements", AGREEMENT_COLUMNS, rows(), names=org_names(session, orgs))
