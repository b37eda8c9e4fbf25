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
from services.procurement.orders import schemas, service
from services.procurement.visibility import PROCUREMENT, SUPPLIERS

router = APIRouter(prefix="/api/v1/procurement", tags=["orders"])


@router.post("/orders", status_code=202, response_model=schemas.OrderOut,
             openapi_extra={**PROCUREMENT, **gives(order_id="/id")},
             summary="Places a call-off order; it waits for the budget's answer (pending_budget).")
async def place_order(data: schemas.OrderCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.place_order(session, orgs, principal, data)


@router.get("/orders", response_model=Page[schemas.OrderOut],
            openapi_extra={**SIGNED_IN, **gives(order_id="/items/0/id")},
            summary="Lists orders of the caller's subtree, or under its agreements (lead, supplier).")
async def list_orders(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                      status: Word | None = None, cursor: Cursor = None, limit: Limit = 100):
    return await service.list_orders(session, principal, org_id=org_id, status=status, cursor=cursor, limit=limit)


@router.get("/orders/{order_id}", response_model=schemas.OrderOut, openapi_extra=SIGNED_IN, summary="Gets an order.")
async def get_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.read_order(session, principal, order_id)


@router.post("/orders/{order_id}/cancel", response_model=schemas.OrderOut, openapi_extra=PROCUREMENT,
             summary="Cancels a pending or confirmed order; its reservation is released.")
async def cancel_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                       data: schemas.CancelOrder | None = None):
    return await service.cancel_order(session, principal, order_id, data or schemas.CancelOrder())


@router.post("/orders/{order_id}/deliver", response_model=schemas.OrderOut, openapi_extra=SUPPLIERS,
             summary="Delivers a confirmed order (the agreement's supplier); the licenses arrive as seats.")
async def deliver_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                        data: schemas.Delivery | None = None):
    return await service.deliver_order(session, principal, order_id, data or schemas.Delivery())


@router.get("/orders/{order_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets an order's history.")
async def order_history(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.order_history(session, principal, order_id, cursor=cursor, limit=limit)


ORDER_COLUMNS = [
    Column("id", "订单编号", "Order id"), Column("org_id", "单位编号", "Org id"),
    Column("supplier_org_id", "供应商编号", "Supplier id"),
    Column("agreement_id", "协议编号", "Agreement id"),
    Column("product_id", "产品编号", "Product id"), Column("quantity", "数量", "Quantity", "int"),
    Column("unit_price_fen", "单价（元）", "Unit price (元)", "money"),
    Column("amount_fen", "金额（元）", "Amount (元)", "money"), Column("status", "状态", "Status"),
    Column("reason", "原因", "Reason"), Column("budget_line_id", "预算项目编号", "Budget line id"),
    Column("valid_from", "授权起始", "Valid from", "time"),
    Column("valid_to", "授权截止", "Valid to", "time"),
    Column("created_at", "下单时间", "Placed", "time"), Column("updated_at", "更新时间", "Updated", "time"),
]


@export_routes(router, "/orders", openapi_extra=SIGNED_IN,
               summary="The orders the caller may read as a spreadsheet (the list's filters and visibility).")
async def export_orders(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                        org_id: uuid.UUID | None = None, status: Word | None = None):
    async def fetch(cursor, limit):
        return await service.list_orders(session, principal, org_id=org_id, status=status, cursor=cursor, limit=limit)

    return await export(request, "orders", ORDER_COLUMNS, every_page(fetch), names=org_names(session, orgs))
