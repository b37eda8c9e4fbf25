"""No interleaving overdraws a line: hundreds of reservations at once, through the broker, from
handlers running side by side (as consumer replicas do) and against API adjustments."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from kernel.schema import outbox
from services.budget.handlers import on_order_placed
from tests.budget.conftest import PREFIX, approved_line, assert_ledger_matches, placed
from tests.support.apps import eventually
from tests.support.events import all_published, publish, published

ORDER_FEN = 10_000


async def test_at_least_200_simultaneous_reservations_never_exceed_the_line(budget, tree, nats):
    line = await approved_line(budget, tree, quantity=20, unit_price_fen=50_000)  # 1,000,000 fen
    finance = tree.actor("province", "finance")
    via_events = [placed(line, amount_fen=ORDER_FEN) for _ in range(120)]
    side_by_side = [placed(line, amount_fen=ORDER_FEN) for _ in range(100)]

    async def replica_applies(event) -> None:
        async with budget.db.session() as session:
            await on_order_placed(session, event)
            await session.commit()

    async def finance_cuts() -> int:
        resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                        json={"delta_fen": -5_000, "reason": "压减"})
        assert resp.status_code in (200, 409), resp.text
        return resp.status_code

    results = await asyncio.gather(publish(nats.url, *via_events), *(replica_applies(e) for e in side_by_side),
                                   *(finance_cuts() for _ in range(30)))
    cuts = sum(1 for status in results[-30:] if status == 200)
    await published(nats.url, "budget.reservation.>", count=220, timeout=60)

    async def outbox_empty():
        async with budget.db.session() as session:
            return (await session.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.published_at.is_(None)))).scalar() == 0

    # With every answer on the stream, all of them: exactly one per order, none twice.
    await eventually(outbox_empty)
    answers = await all_published(nats.url, "budget.reservation.>")
    orders = sorted(str(e.data["order_id"]) for e in via_events + side_by_side)
    assert sorted(a["data"]["order_id"] for a in answers) == orders
    accepted = {a["data"]["order_id"] for a in answers if a["type"] == "budget.reservation.accepted.v1"}

    figures = await assert_ledger_matches(budget, line["id"])
    assert figures["reserved_fen"] == len(accepted) * ORDER_FEN
    assert figures["adjusted_fen"] == -5_000 * cuts
    assert figures["reserved_fen"] <= figures["approved_fen"] + figures["adjusted_fen"]
    # The line was oversubscribed (2.2 M asked of 1 M), so it ends exactly exhausted or within one order.
    remaining = figures["approved_fen"] + figures["adjusted_fen"] - figures["reserved_fen"]
    assert 0 <= remaining < ORDER_FEN
    rejected = [a for a in answers if a["type"] == "budget.reservation.rejected.v1"]
    assert rejected and {a["data"]["reason"] for a in rejected} == {"insufficient_funds"}
    assert all(uuid.UUID(a["data"]["order_id"]) for a in answers)
