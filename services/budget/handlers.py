"""The budget's part of the order flow: procurement's events move a line's money, and each answer
goes back as a budget event. Every handler is idempotent twice over: the kernel's inbox drops a
redelivered event, and the ledger's unique (line, kind, demand-or-order) drops the same fact
arriving in another event."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import contracts
from kernel.consumers import Subscription
from kernel.contracts import (
    DemandReleased,
    DemandSubmitted,
    DemandSubmittedV2,
    FundsSpent,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderPlacedV2,
    PreencumbranceAnswered,
    ReservationAnswered,
)
from kernel.events import Event, new_event
from kernel.history import event_actor
from kernel.outbox import add_event
from services.budget.lines import ledger
from services.budget.lines.models import BudgetLine
from services.budget.lines.service import SOURCE


async def locked_line(session: AsyncSession, line_id: uuid.UUID) -> BudgetLine | None:
    # Lock the line for the rest of the transaction: reading what a demand still holds and then
    # moving it must not interleave with another movement of the same line (SQLite's
    # BEGIN IMMEDIATE already serializes writers).
    return (await session.execute(sa.select(BudgetLine).where(BudgetLine.id == line_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()


def refusal(line: BudgetLine | None, org_id: uuid.UUID, category: str | None,
            fiscal_year: int | None) -> str | None:
    """Why this line cannot take new commitments for this org, category and fiscal year (None if it
    can). SPEC Budget: only an approved line of the campaign's year and the product's category;
    v1 events carry no year, and are held to the rest."""
    if line is None:
        return "unknown_line"
    if line.org_id != org_id:
        return "wrong_org"
    if category is not None and line.category != category:
        return "category_mismatch"
    if fiscal_year is not None and line.fiscal_year != fiscal_year:
        return "fiscal_year_mismatch"
    if line.status == "closed":
        return "line_closed"
    if line.status != "approved":
        return "line_not_approved"
    return None


async def on_demand_submitted(session: AsyncSession, event: Event) -> None:
    demand = contracts.read(event, DemandSubmitted, DemandSubmittedV2)
    line = await locked_line(session, demand.budget_line_id)
    if line is not None and await ledger.has_entry(session, line.id, "preencumber", demand.demand_id):
        return
    reason = refusal(line, demand.org_id, demand.category, getattr(demand, "fiscal_year", None))
    if reason is None:
        entry = {"kind": "preencumber", "amount_fen": demand.amount_fen, "ref_id": demand.demand_id,
                 "demand_id": demand.demand_id}
        if not await ledger.move(session, line.id, {"pre_encumbered_fen": demand.amount_fen}, [entry],
                                 actor=event_actor(event), only_if_status=("approved",)):
            reason = "insufficient_funds"
    answer = PreencumbranceAnswered(demand_id=demand.demand_id, campaign_id=demand.campaign_id,
                                    line_id=demand.budget_line_id, org_id=demand.org_id,
                                    amount_fen=demand.amount_fen, reason=reason)
    subject = "budget.preencumbrance.accepted" if reason is None else "budget.preencumbrance.rejected"
    await add_event(session, new_event(subject, answer, source=SOURCE, about=demand.demand_id, cause=event))


async def on_demand_released(session: AsyncSession, event: Event) -> None:
    released = event.payload(DemandReleased)
    line = await locked_line(session, released.budget_line_id)
    if line is None or await ledger.has_entry(session, line.id, "release_preencumbrance", released.demand_id):
        return
    held = await ledger.held_for_demand(session, line.id, released.demand_id)
    entry = {"kind": "release_preencumbrance", "amount_fen": -held, "ref_id": released.demand_id,
             "demand_id": released.demand_id, "reason": released.reason}
    await ledger.move(session, line.id, {"pre_encumbered_fen": -held}, [entry], actor=event_actor(event))


async def on_order_placed(session: AsyncSession, event: Event) -> None:
    order = contracts.read(event, OrderPlaced, OrderPlacedV2)
    line = await locked_line(session, order.budget_line_id)
    if line is not None and (await ledger.has_entry(session, line.id, "reserve", order.order_id)
                             or await ledger.has_entry(session, line.id, "release", order.order_id)):
        return  # reserved already, or cancelled before this event arrived
    reason = refusal(line, order.org_id, order.category, getattr(order, "fiscal_year", None))
    if reason is None:
        # The demand this org declared for the item already holds money at the cap price; the
        # order takes it over (up to its own amount) instead of holding the same money twice.
        converted = 0
        if order.demand_id is not None and not await ledger.has_entry(session, line.id, "preencumber",
                                                                      order.demand_id):
            # Procurement names only accepted demands of this line, so the demand's own event is
            # still on its way: fail, and the broker brings this order again a moment later.
            raise LookupError(f"demand {order.demand_id} is not pre-encumbered on line {line.id} yet")
        if order.demand_id is not None:
            converted = min(max(await ledger.held_for_demand(session, line.id, order.demand_id), 0), order.amount_fen)
        entries = []
        if converted:
            entries.append({"kind": "release_preencumbrance", "amount_fen": -converted, "ref_id": order.order_id,
                            "demand_id": order.demand_id, "reason": "converted into the order's reservation"})
        entries.append({"kind": "reserve", "amount_fen": order.amount_fen, "ref_id": order.order_id,
                        "demand_id": order.demand_id})
        if not await ledger.move(session, line.id, {"pre_encumbered_fen": -converted, "reserved_fen": order.amount_fen},
                                 entries, actor=event_actor(event), only_if_status=("approved",)):
            reason = "insufficient_funds"
    answer = ReservationAnswered(order_id=order.order_id, line_id=order.budget_line_id, org_id=order.org_id,
                                 amount_fen=order.amount_fen, reason=reason)
    subject = "budget.reservation.accepted" if reason is None else "budget.reservation.rejected"
    await add_event(session, new_event(subject, answer, source=SOURCE, about=order.order_id, cause=event))


async def on_order_cancelled(session: AsyncSession, event: Event) -> None:
    order = event.payload(OrderCancelled)
    line = await locked_line(session, order.budget_line_id)
    if line is None or await ledger.has_entry(session, line.id, "release", order.order_id):
        return
    if line.org_id != order.org_id:
        raise ValueError(f"order {order.order_id} of org {order.org_id} names line {line.id} of another org")
    reserved = await ledger.sum_for(session, line.id, "reserve", ref_id=order.order_id)
    # A release of 0 is recorded too: if the order's placement arrives after its cancellation,
    # it finds the release and reserves nothing.
    entry = {"kind": "release", "amount_fen": -reserved, "ref_id": order.order_id, "reason": order.reason}
    await ledger.move(session, line.id, {"reserved_fen": -reserved}, [entry], actor=event_actor(event))
    if reserved:
        answer = ReservationAnswered(order_id=order.order_id, line_id=line.id, org_id=order.org_id,
                                     amount_fen=reserved)
        await add_event(session, new_event("budget.reservation.released", answer, source=SOURCE,
                                           about=order.order_id, cause=event))


async def on_order_delivered(session: AsyncSession, event: Event) -> None:
    order = event.payload(OrderDelivered)
    line = await locked_line(session, order.budget_line_id)
    if line is not None and await ledger.has_entry(session, line.id, "spend", order.order_id):
        return
    reserved = await ledger.sum_for(session, line.id, "reserve", ref_id=order.order_id) if line else 0
    released = line is not None and await ledger.has_entry(session, line.id, "release", order.order_id)
    if line is not None and line.status == "closed" and (not reserved or released):
        # The year-end close released this order's reservation (or the line closed before it was
        # ever reserved): nothing funds the delivery any more, and waiting will not change that.
        # The answer is a refusal with its reason, not a retry that ends parked.
        answer = ReservationAnswered(order_id=order.order_id, line_id=line.id, org_id=order.org_id,
                                     amount_fen=order.amount_fen, reason="line_closed")
        await add_event(session, new_event("budget.reservation.rejected", answer, source=SOURCE,
                                           about=order.order_id, cause=event))
        return
    if line is None or not reserved or released:
        # Delivery follows confirmation, which follows the reservation: if it is not here yet,
        # failing makes the broker bring this event again later (and park it if it never is).
        raise LookupError(f"no live reservation for order {order.order_id} on line {order.budget_line_id}")
    entries = [{"kind": "release", "amount_fen": -reserved, "ref_id": order.order_id, "reason": "spent"},
               {"kind": "spend", "amount_fen": order.amount_fen, "ref_id": order.order_id}]
    if not await ledger.move(session, line.id, {"reserved_fen": -reserved, "spent_fen": order.amount_fen}, entries,
                             actor=event_actor(event)):
        raise ValueError(f"line {line.id} cannot cover the delivery of order {order.order_id}")
    await add_event(session, new_event("budget.funds.spent", FundsSpent(
        order_id=order.order_id, line_id=line.id, org_id=order.org_id, amount_fen=order.amount_fen),
        source=SOURCE, about=order.order_id, cause=event))


SUBSCRIPTIONS = [
    Subscription("procurement.demand.submitted", on_demand_submitted),
    Subscription("procurement.demand.released", on_demand_released),
    Subscription("procurement.order.placed", on_order_placed),
    Subscription("procurement.order.cancelled", on_order_cancelled),
    Subscription("procurement.order.delivered", on_order_delivered),
]
