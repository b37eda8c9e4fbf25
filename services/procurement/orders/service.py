"""Call-off orders: placed under an active agreement, confirmed or rejected by the budget's answer,
cancelled (which releases the money), delivered by the supplier (which makes seats)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import OrderCancelled, OrderDelivered, OrderPlacedV2
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from kernel.outbox import add_event
from kernel.pagination import Page, paginate
from kernel.transitions import Change, Note
from services.procurement import visibility
from services.procurement.agreements.models import AGREEMENT, Agreement, AgreementItem
from services.procurement.agreements.service import visible_agreement
from services.procurement.campaigns.models import Campaign, Participant
from services.procurement.demands.models import Demand
from services.procurement.orders import schemas
from services.procurement.orders.models import ORDER, Order
from services.procurement.products.models import Product
from services.procurement.working_days import add_months

SOURCE = "zhengban/procurement"


async def place_order(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                      data: schemas.OrderCreate) -> Order:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.PROCUREMENT.require(principal, org.path)
    agreement = await visible_agreement(session, principal, data.agreement_id)
    participant = (await session.execute(sa.select(Participant).where(
        Participant.campaign_id == agreement.campaign_id, Participant.org_id == org.id))).scalar()
    if participant is None:
        raise Forbidden(f"org {org.id} is not a participant of this agreement's campaign", slug="not-a-participant")
    now = utcnow()
    AGREEMENT.require("call_off", agreement.status)
    outside = Conflict("the agreement is outside its validity period", slug="agreement-not-valid-now")
    if not agreement.valid_from <= now <= agreement.valid_to:
        raise outside
    item = (await session.execute(sa.select(AgreementItem).where(AgreementItem.agreement_id == agreement.id,
                                                                 AgreementItem.item_id == data.item_id))).scalar()
    if item is None:
        raise InvalidInput(f"item {data.item_id} is not in this agreement", slug="unknown-item")
    product = await session.get(Product, item.product_id)
    fiscal_year = (await session.execute(sa.select(Campaign.fiscal_year)
                                         .where(Campaign.id == agreement.campaign_id))).scalar_one()
    # The unit's accepted demand for this item on the same budget line: the budget turns its
    # pre-encumbrance into this order's reservation.
    demand_id = (await session.execute(sa.select(Demand.id).where(
        Demand.campaign_id == agreement.campaign_id, Demand.org_id == org.id, Demand.item_id == item.item_id,
        Demand.budget_line_id == data.budget_line_id, Demand.status == "accepted"))).scalar()
    order = Order(agreement_id=agreement.id, campaign_id=agreement.campaign_id, item_id=item.item_id,
                  product_id=item.product_id, org_id=org.id, org_path=org.path,
                  supplier_org_id=agreement.supplier_org_id, budget_line_id=data.budget_line_id, demand_id=demand_id,
                  quantity=data.quantity, unit_price_fen=item.unit_price_fen,
                  amount_fen=data.quantity * item.unit_price_fen, status="pending_budget",
                  created_by=history.actor_of(principal), created_at=now, updated_at=now)
    # The order counts only if the agreement is still active when it is written: the guard holds
    # the agreement row, so a suspension or termination waits for this order or refuses it first.
    await AGREEMENT.apply(session, "call_off", agreement.id, None,
                          Change(where=[Agreement.valid_from <= now, Agreement.valid_to >= now], refused=outside,
                                 touch=False))
    session.add(order)
    await session.flush()
    await history.record(session, "order", order.id, "placed", principal, data.model_dump(mode="json"))
    await add_event(session, new_event("procurement.order.placed", OrderPlacedV2(
        order_id=order.id, agreement_id=agreement.id, campaign_id=agreement.campaign_id, item_id=item.item_id,
        product_id=item.product_id, category=product.category, fiscal_year=fiscal_year, org_id=org.id,
        budget_line_id=data.budget_line_id,
        quantity=data.quantity, unit_price_fen=item.unit_price_fen, amount_fen=order.amount_fen,
        demand_id=demand_id), source=SOURCE, about=order.id))
    await session.commit()
    return order


async def visible_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID) -> Order:
    """An order the caller may see at all (a foreign one is 404), for the use-cases that act on it."""
    return (await seen_order(session, principal, order_id))[0]


async def seen_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID) -> tuple[Order, bool]:
    """An order the caller may see, and whether it reads it whole (visibility.orders_whole)."""
    row = (await session.execute(sa.select(Order, visibility.orders_whole(principal))
                                 .where(Order.id == order_id, visibility.orders_seen(principal))
                                 .execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"no order {order_id} that you may see")
    return row[0], row[1]


async def read_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID) -> schemas.OrderOut:
    """Gets an order as the caller may see it."""
    return order_out(*await seen_order(session, principal, order_id))


def order_out(order: Order, whole: bool) -> schemas.OrderOut:
    return visibility.redact_order(schemas.OrderOut.model_validate(order), bool(whole))


def orders_query(principal: Principal, org_id, status) -> sa.Select:
    """Orders the caller may see, each with whether it reads it whole."""
    query = sa.select(Order, visibility.orders_whole(principal)).where(visibility.orders_seen(principal))
    if org_id:
        query = query.where(Order.org_id == org_id)
    if status:
        query = query.where(Order.status == status)
    return query


async def list_orders(session: AsyncSession, principal: Principal, *, org_id: uuid.UUID | None, status: str | None,
                      cursor: str | None, limit: int) -> Page[schemas.OrderOut]:
    """One page of the orders the caller may read, each as its reader sees it."""
    rows, next_cursor = await paginate(session, orders_query(principal, org_id, status), Order.id,
                                       cursor=cursor, limit=limit)
    return Page(items=[order_out(order, whole) for order, whole in rows], next_cursor=next_cursor)


async def order_history(session: AsyncSession, principal: Principal, order_id: uuid.UUID, *,
                        cursor: str | None, limit: int) -> Page[history.HistoryEntry]:
    """Gets a page of an order's history as the caller may see it."""
    _, whole = await seen_order(session, principal, order_id)
    page = await history.history_page(session, order_id, cursor=cursor, limit=limit)
    return Page(items=[visibility.redact_order_history(entry, bool(whole)) for entry in page.items],
                next_cursor=page.next_cursor)


async def cancel_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID,
                       data: schemas.CancelOrder) -> schemas.OrderOut:
    order = await visible_order(session, principal, order_id)
    visibility.PROCUREMENT.require(principal, order.org_path)
    ORDER.require("cancel", order.status)
    # Compensation: the budget releases whatever it reserved (or, if the placement has not reached
    # it yet, remembers not to reserve).
    cancelled = new_event("procurement.order.cancelled", OrderCancelled(
        order_id=order.id, org_id=order.org_id, budget_line_id=order.budget_line_id, amount_fen=order.amount_fen,
        reason=data.reason), source=SOURCE, about=order.id)
    await ORDER.apply(session, "cancel", order.id, Note(principal, {"reason": data.reason}),
                      Change({"reason": data.reason}, events=[cancelled]))
    await session.commit()
    return await read_order(session, principal, order_id)


async def deliver_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID,
                        data: schemas.Delivery) -> schemas.OrderOut:
    order = await visible_order(session, principal, order_id)
    principal.refuse_auditor()
    if "supplier" not in principal.roles or principal.org_id != order.supplier_org_id:
        raise Forbidden("only the agreement's supplier delivers")
    ORDER.require("deliver", order.status)
    product = await session.get(Product, order.product_id)
    valid_from = data.valid_from or utcnow()
    valid_to = data.valid_to
    if valid_to is None and product.term_months:
        valid_to = add_months(valid_from, product.term_months)
    delivered = new_event("procurement.order.delivered", OrderDelivered(
        order_id=order.id, org_id=order.org_id, budget_line_id=order.budget_line_id,
        amount_fen=order.amount_fen, supplier_org_id=order.supplier_org_id, product_id=product.id,
        product_name=product.name, vendor=product.vendor, category=product.category,
        metric=product.metric, quantity=order.quantity, term_months=product.term_months,
        valid_from=valid_from, valid_to=valid_to, keys=data.keys), source=SOURCE, about=order.id)
    await ORDER.apply(session, "deliver", order.id,
                      Note(principal, {"valid_from": valid_from.isoformat(),
                                       "valid_to": valid_to and valid_to.isoformat(), "keys": len(data.keys or ())}),
                      Change({"valid_from": valid_from, "valid_to": valid_to}, events=[delivered]))
    await session.commit()
    return await read_order(session, principal, order_id)
