"""The budget's answers move demands and orders on. A compare-and-set on the current status
(kernel.transitions) makes each answer count once, and an answer for an order that was cancelled
meanwhile changes nothing (the budget releases the reservation on the cancellation either way)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.consumers import Subscription
from kernel.contracts import PreencumbranceAnswered, ReservationAnswered
from kernel.events import Event
from kernel.history import event_actor
from kernel.transitions import Change, Note
from services.procurement import policy_copy, visibility
from services.procurement.demands.models import DEMAND
from services.procurement.orders.models import ORDER


async def _answer_demand(session: AsyncSession, event: Event, command: str) -> None:
    answer = event.payload(PreencumbranceAnswered)
    await DEMAND.try_apply(session, command, answer.demand_id,
                           Note(event_actor(event), {"demand_id": str(answer.demand_id), "reason": answer.reason},
                                on=("campaign", answer.campaign_id),
                                audience=visibility.demand_audience(answer.org_id)),
                           Change({"reason": answer.reason}))


async def _answer_order(session: AsyncSession, event: Event, command: str) -> None:
    answer = event.payload(ReservationAnswered)
    await ORDER.try_apply(session, command, answer.order_id, Note(event_actor(event), {"reason": answer.reason}),
                          Change({"reason": answer.reason}))


async def on_preencumbrance_accepted(session: AsyncSession, event: Event) -> None:
    await _answer_demand(session, event, "accept")


async def on_preencumbrance_rejected(session: AsyncSession, event: Event) -> None:
    await _answer_demand(session, event, "reject")


async def on_reservation_accepted(session: AsyncSession, event: Event) -> None:
    await _answer_order(session, event, "confirm")


async def on_reservation_rejected(session: AsyncSession, event: Event) -> None:
    await _answer_order(session, event, "reject")


async def on_reservation_released(session: AsyncSession, event: Event) -> None:
    """The budget's year-end close released a confirmed order's reservation (reason `line_closed`):
    the money lapsed with the year, so the order is cancelled with that reason and can no longer be
    delivered. Any other release follows the order's own cancellation and changes nothing here."""
    answer = event.payload(ReservationAnswered)
    if answer.reason != "line_closed":
        return
    await ORDER.try_apply(session, "cancel", answer.order_id, Note(event_actor(event), {"reason": answer.reason}),
                          Change({"reason": answer.reason}))


SUBSCRIPTIONS = [
    Subscription("budget.preencumbrance.accepted", on_preencumbrance_accepted),
    Subscription("budget.preencumbrance.rejected", on_preencumbrance_rejected),
    Subscription("budget.reservation.accepted", on_reservation_accepted),
    Subscription("budget.reservation.rejected", on_reservation_rejected),
    Subscription("budget.reservation.released", on_reservation_released),
    policy_copy.COPIES.subscription(),
]
