"""The budget's answers move demands and orders on. A conditional update on the current status makes
each answer count once, and an answer for an order that was cancelled meanwhile changes nothing
(the budget releases the reservation on the cancellation either way)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.consumers import Subscription
from kernel.contracts import PreencumbranceAnswered, ReservationAnswered
from kernel.events import Event
from kernel.ids import utcnow
from services.procurement.campaigns.models import Demand
from services.procurement.orders.models import Order


def actor_for(event: Event) -> str:
    return f"event:{event.type}"


async def _answer_demand(session: AsyncSession, event: Event, status: str) -> None:
    answer = event.payload(PreencumbranceAnswered)
    done = await session.execute(sa.update(Demand).where(Demand.id == answer.demand_id,
                                                         Demand.status == "pending_budget")
                                 .values(status=status, reason=answer.reason, updated_at=utcnow()))
    if done.rowcount:
        await history.record(session, "campaign", answer.campaign_id, f"demand_{status}", actor_for(event),
                             {"demand_id": str(answer.demand_id), "reason": answer.reason})


async def _answer_order(session: AsyncSession, event: Event, status: str) -> None:
    answer = event.payload(ReservationAnswered)
    done = await session.execute(sa.update(Order).where(Order.id == answer.order_id, Order.status == "pending_budget")
                                 .values(status=status, reason=answer.reason, updated_at=utcnow()))
    if done.rowcount:
        await history.record(session, "order", answer.order_id, status, actor_for(event), {"reason": answer.reason})


async def on_preencumbrance_accepted(session: AsyncSession, event: Event) -> None:
    await _answer_demand(session, event, "accepted")


async def on_preencumbrance_rejected(session: AsyncSession, event: Event) -> None:
    await _answer_demand(session, event, "rejected")


async def on_reservation_accepted(session: AsyncSession, event: Event) -> None:
    await _answer_order(session, event, "confirmed")


async def on_reservation_rejected(session: AsyncSession, event: Event) -> None:
    await _answer_order(session, event, "rejected")


SUBSCRIPTIONS = [
    Subscription("budget.preencumbrance.accepted", on_preencumbrance_accepted),
    Subscription("budget.preencumbrance.rejected", on_preencumbrance_rejected),
    Subscription("budget.reservation.accepted", on_reservation_accepted),
    Subscription("budget.reservation.rejected", on_reservation_rejected),
]
