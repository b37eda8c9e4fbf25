from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, UploadFile

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.contracts import Category
from kernel.deps import Orgs, Session
from kernel.etags import IfMatch, with_etag
from kernel.exports import Column, english, every_page, export, export_routes, org_names
from kernel.imports import RELEASES_MEMORY, TEMPLATE_RESPONSES, ImportOut, headers_of, template
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.licenses.pools import imports, schemas, service
from services.licenses.pools.models import Entitlement, Transfer
from services.licenses.visibility import IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["pools"])


@router.post("/entitlements", status_code=201, response_model=schemas.EntitlementOut,
             openapi_extra={**IT_ADMINS, **gives(pool_id="/pool_id")},
             summary="Adds a manual or OEM entitlement; its seats join the org's pool for the product.")
async def create_entitlement(data: schemas.EntitlementCreate, principal: CurrentPrincipal, session: Session,
                             orgs: Orgs):
    return await service.create_entitlement(session, orgs, principal, data)


@router.post("/entitlements:import", response_model=ImportOut, openapi_extra=IT_ADMINS,
             dependencies=[RELEASES_MEMORY],
             summary="Registers entitlements from a spreadsheet (CSV in UTF-8 or GB18030, or XLSX), all rows or "
                     "none: a file with a bad row answers every row's error.")
async def import_entitlements(file: UploadFile, request: Request, principal: CurrentPrincipal, session: Session,
                              orgs: Orgs, org_id: uuid.UUID | None = None, dry_run: bool = False):
    return await imports.import_entitlements(session, orgs, principal, org_id, file, dry_run=dry_run,
                                             english=english(request))


@router.get("/entitlements:import-template.xlsx", openapi_extra=IT_ADMINS, response_class=Response,
            responses=TEMPLATE_RESPONSES,
            summary="Gets the entitlements import template: an XLSX workbook with the Chinese headers.")
async def entitlements_import_template(principal: CurrentPrincipal):
    IT_ADMINS.require(principal, principal.org_path)
    return template("entitlements", headers_of(imports.FIELDS))


@router.get("/entitlements", response_model=Page[schemas.EntitlementOut],
            openapi_extra={**SIGNED_IN, **gives(pool_id="/items/0/pool_id")},
            summary="Lists entitlements in the caller's subtree.")
async def list_entitlements(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                            pool_id: uuid.UUID | None = None, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.entitlements_query(principal, org_id, pool_id),
                                        Entitlement.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/pools", response_model=Page[schemas.PoolOut], openapi_extra={**SIGNED_IN, **gives(pool_id="/items/0/id")},
            summary="Lists pools in the caller's subtree with their seat counts and next expiry.")
async def list_pools(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                     category: Category | None = None, product_id: uuid.UUID | None = None,
                     cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await service.list_pools(session, principal, org_id=org_id, category=category,
                                                  product_id=product_id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/pools/{pool_id}", response_model=schemas.PoolOut, openapi_extra=SIGNED_IN, summary="Gets a pool.")
async def get_pool(pool_id: uuid.UUID, principal: CurrentPrincipal, session: Session, response: Response):
    pool = await service.get_pool_out(session, principal, pool_id)
    with_etag(response, service.pool_etag(pool))
    return pool


@router.put("/pools/{pool_id}", response_model=schemas.PoolOut, openapi_extra=IT_ADMINS,
            summary="Sets the pool's low-seat threshold (licenses.pool.low fires when available falls below); "
                    "needs If-Match.")
async def update_pool(pool_id: uuid.UUID, data: schemas.PoolUpdate, principal: CurrentPrincipal, session: Session,
                      response: Response, if_match: IfMatch = None):
    pool = await service.update_pool(session, principal, pool_id, data, if_match=if_match)
    with_etag(response, service.pool_etag(pool))
    return pool


@router.get("/pools/{pool_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a pool's history: entitlements, transfers, thresholds, bulk allocations, expiries.")
async def pool_history(pool_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    await service.visible_pool(session, principal, pool_id)
    return await history.history_page(session, pool_id, cursor=cursor, limit=limit)


@router.post("/transfers", status_code=201, response_model=schemas.TransferOut,
             openapi_extra={**IT_ADMINS, **gives(transfer_id="/id")},
             summary="Moves idle seats to another org's pool of the same product (调配), inside the caller's subtree.")
async def create_transfer(data: schemas.TransferCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.transfer_seats(session, orgs, principal, data)


@router.get("/transfers", response_model=Page[schemas.TransferOut],
            openapi_extra={**SIGNED_IN, **gives(transfer_id="/items/0/id")},
            summary="Lists transfers out of pools in the caller's subtree.")
async def list_transfers(principal: CurrentPrincipal, session: Session, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.transfers_query(principal), Transfer.id, cursor=cursor,
                                        limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/transfers/{transfer_id}", response_model=schemas.TransferOut, openapi_extra=SIGNED_IN,
            summary="Gets a transfer.")
async def get_transfer(transfer_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_transfer(session, principal, transfer_id)


POOL_COLUMNS = [
    Column("id", "授权池编号", "Pool id"), Column("org_id", "单位编号", "Org id"),
    Column("product_name", "产品", "Product"), Column("category", "类别", "Category"),
    Column("metric", "计量", "Metric"),
    Column("total", "授权总数", "Seats", "int"), Column("allocated", "已分配", "Allocated", "int"),
    Column("available", "可分配", "Available", "int"),
    Column("next_expiry", "最近到期", "Next expiry", "time"),
    Column("product_id", "产品编号", "Product id"),
]


@export_routes(router, "/pools", openapi_extra=SIGNED_IN,
               summary="The pools of the caller's subtree as a spreadsheet (the list's filters).")
async def export_pools(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                       org_id: uuid.UUID | None = None, category: Category | None = None,
                       product_id: uuid.UUID | None = None):
    async def fetch(cursor, limit):
        return await service.list_pools(session, principal, org_id=org_id, category=category, product_id=product_id,
                                        cursor=cursor, limit=limit)

    return await export(request, "pools", POOL_COLUMNS, every_page(fetch), names=org_names(session, orgs))
