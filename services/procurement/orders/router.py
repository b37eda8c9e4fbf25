from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Orgs, Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.procurement.orders import schemas, service
from services.procurement.orders.models import Order

router = APIRouter(prefix="/api/v1/procurement", tags=["orders"])
READERS = {"x-roles": ["authenticated"]}


@router.post("/orders", status_code=202, response_model=schemas.OrderOut,
             openapi_extra={"x-roles": ["procurement"], **gives(order_id="/id")},
             summary="Places a call-off order; it waits for the budget's answer (pending_budget).")
async def place_order(data: schemas.OrderCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.place_order(session, orgs, principal, data)


@router.get("/orders", response_model=Page[schemas.OrderOut],
            openapi_extra={**READERS, **gives(order_id="/items/0/id")},
            summary="Lists orders of the caller's subtree, or under its agreements (lead, supplier).")
async def list_orders(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                      status: Word | None = None, cursor: Cursor = None, limit: Limit = 100):
    rows, next_cursor = await paginate(session, service.orders_query(principal, org_id, status), Order.id,
                                       cursor=cursor, limit=limit)
    return Page(items=[service.order_out(order, whole) for order, whole in rows], next_cursor=next_cursor)


@router.get("/orders/{order_id}", response_model=schemas.OrderOut, openapi_extra=READERS, summary="Gets an order.")
async def get_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.read_order(session, principal, order_id)


@router.post("/orders/{order_id}/cancel", response_model=schemas.OrderOut, openapi_extra={"x-roles": ["procurement"]},
             summary="Cancels a pending or confirmed order; its reservation is released.")
async def cancel_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                       data: schemas.CancelOrder | None = None):
    return await service.cancel_order(session, principal, order_id, data or schemas.CancelOrder())


@router.post("/orders/{order_id}/deliver", response_model=schemas.OrderOut, openapi_extra={"x-roles": ["supplier"]},
             summary="Delivers a confirmed order (the agreement's supplier); the licenses arrive as seats.")
async def deliver_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                        data: schemas.Delivery | None = None):
    return await service.deliver_order(session, principal, order_id, data or schemas.Delivery())


@router.get("/orders/{order_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=READERS,
            summary="Gets an order's history.")
async def order_history(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.order_history(session, principal, order_id, cursor=cursor, limit=limit)
