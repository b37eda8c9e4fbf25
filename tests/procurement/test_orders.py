"""Call-off orders: 202 and pending, the budget's answer, cancel, deliver; idempotent all the way."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from kernel.schema import inbox
from tests.procurement.conftest import PREFIX
from tests.support.apps import eventually
from tests.support.events import published


async def agreement(scenario) -> dict:
    await scenario.create()
    awarded = await scenario.to_award()
    return await scenario.call("GET", f"/agreements/{awarded['agreement_id']}", scenario.unit_1)


def order_body(scenario, agreement, *, unit="enterprise_1", item=0, quantity=10):
    return {"agreement_id": agreement["id"], "item_id": scenario.items[item]["id"], "quantity": quantity,
            "budget_line_id": str(scenario.lines[unit]), "org_id": str(scenario.tree[unit].id)}


async def consumed(scenario, consumer: str) -> bool:
    async with scenario.svc.db.session() as session:
        rows = await session.execute(sa.select(sa.func.count()).select_from(inbox).where(inbox.c.consumer == consumer))
        return rows.scalar() > 0


async def status_of(scenario, order, want):
    async def check():
        return (await scenario.call("GET", f"/orders/{order['id']}", scenario.unit_1))["status"] == want

    await eventually(check)


async def test_an_order_waits_for_the_budget_then_is_confirmed_and_delivered(scenario, nats):
    deal = await agreement(scenario)
    order = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    assert order["status"] == "pending_budget"
    assert (order["unit_price_fen"], order["amount_fen"]) == (52_000, 520_000)
    placed = (await published(nats.url, "procurement.order.placed", count=1))[0]["data"]
    # enterprise_1 declared demand for this item on this line: the budget converts it.
    assert placed["demand_id"] is not None and placed["category"] == "office"
    await scenario.answer_order(order, "accepted")
    await status_of(scenario, order, "confirmed")
    wrong_supplier = await scenario.call("POST", f"/orders/{order['id']}/deliver", scenario.supplier_x, 404)
    assert wrong_supplier["type"].endswith("/not-found")  # supplier_x lost: the order is not addressed to it
    delivered = await scenario.call("POST", f"/orders/{order['id']}/deliver", scenario.supplier_y,
                                    json={"keys": ["AAAA-BBBB"]})
    assert delivered["status"] == "delivered" and delivered["valid_from"] is not None
    assert delivered["budget_line_id"] is None  # the unit's line is not the supplier's to know
    event = (await published(nats.url, "procurement.order.delivered", count=1))[0]["data"]
    assert (event["product_name"], event["vendor"], event["metric"], event["quantity"], event["term_months"]) == (
        "WPS Office", "金山办公", "device", 10, None)
    assert event["org_id"] == str(scenario.tree["enterprise_1"].id) and event["keys"] == ["AAAA-BBBB"]
    history = (await scenario.call("GET", f"/orders/{order['id']}/history", scenario.unit_1))["items"]
    assert [h["action"] for h in history] == ["placed", "confirmed", "delivered"]


async def test_rejected_and_cancelled_orders(scenario, nats):
    deal = await agreement(scenario)
    rejected = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    await scenario.answer_order(rejected, "rejected", reason="insufficient_funds")
    await status_of(scenario, rejected, "rejected")
    own = await scenario.call("GET", f"/orders/{rejected['id']}", scenario.unit_1)
    assert (own["reason"], own["budget_line_id"]) == ("insufficient_funds", str(scenario.lines["enterprise_1"]))
    # The agreement's supplier reads the order without the unit's budget line, demand, or why its
    # budget refused it; in the order itself, the list and the history alike.
    seen = await scenario.call("GET", f"/orders/{rejected['id']}", scenario.supplier_y)
    assert seen["status"] == "rejected" and (seen["reason"], seen["budget_line_id"], seen["demand_id"]) == (
        None, None, None)
    listed = (await scenario.call("GET", "/orders", scenario.supplier_y))["items"]
    assert [(o["id"], o["budget_line_id"], o["reason"]) for o in listed] == [(rejected["id"], None, None)]
    history = (await scenario.call("GET", f"/orders/{rejected['id']}/history", scenario.supplier_y))["items"]
    assert [h["action"] for h in history] == ["placed", "rejected"]
    assert str(scenario.lines["enterprise_1"]) not in str(history) and "insufficient_funds" not in str(history)
    own_history = (await scenario.call("GET", f"/orders/{rejected['id']}/history", scenario.unit_1))["items"]
    assert own_history[0]["data"]["budget_line_id"] == str(scenario.lines["enterprise_1"])
    assert own_history[1]["data"]["reason"] == "insufficient_funds"
    await scenario.call("POST", f"/orders/{rejected['id']}/cancel", scenario.unit_1, 409)

    order = await scenario.call("POST", "/orders", scenario.unit_2, 202, json=order_body(scenario, deal,
                                                                                         unit="enterprise_2"))
    cancelled = await scenario.call("POST", f"/orders/{order['id']}/cancel", scenario.unit_2, json={"reason": "撤销"})
    assert cancelled["status"] == "cancelled"
    # The budget's acceptance arriving afterwards changes nothing.
    await scenario.answer_order(order, "accepted")
    event = (await published(nats.url, "procurement.order.cancelled", count=1))[0]["data"]
    assert (event["order_id"], event["amount_fen"]) == (order["id"], order["amount_fen"])
    await eventually(lambda: consumed(scenario, "procurement--budget-reservation-accepted"))
    assert (await scenario.call("GET", f"/orders/{order['id']}", scenario.unit_2))["status"] == "cancelled"
    await scenario.call("POST", f"/orders/{order['id']}/deliver", scenario.supplier_y, 409)


async def test_the_same_idempotency_key_makes_one_order_and_answers_count_once(scenario, nats):
    deal = await agreement(scenario)
    headers = {**scenario.unit_1.headers, "Idempotency-Key": "order-2026-0001"}
    answers = await asyncio.gather(*(scenario.svc.client.post(f"{PREFIX}/orders", headers=headers,
                                                              json=order_body(scenario, deal)) for _ in range(5)))
    # Within one process a request waits for the first one with its key and replays its answer:
    # every racer gets the same 202 and the same order (a 409 here would be a client's needless retry).
    assert [a.status_code for a in answers] == [202] * 5, [a.text for a in answers]
    created = answers
    assert {a.json()["id"] for a in answers} == {answers[0].json()["id"]}
    again = await scenario.svc.client.post(f"{PREFIX}/orders", headers=headers, json=order_body(scenario, deal))
    assert again.status_code == 202 and again.json()["id"] == created[0].json()["id"]
    listed = await scenario.call("GET", "/orders", scenario.unit_1)
    assert len(listed["items"]) == 1
    order = created[0].json()
    answers = [await scenario.answer_order(order, "accepted"), await scenario.answer_order(order, "accepted"),
               await scenario.answer_order(order, "rejected", reason="insufficient_funds")]  # the last too late
    await status_of(scenario, order, "confirmed")
    await published(nats.url, "budget.reservation.>", count=3)

    async def every_answer_consumed():
        async with scenario.svc.db.session() as session:
            rows = await session.execute(sa.select(inbox.c.consumer, inbox.c.event_id).where(
                inbox.c.event_id.in_([a.id for a in answers])))
            return sorted(rows.all()) == sorted(
                (f"procurement--{a.nats_subject.replace('.', '-')}", a.id) for a in answers)

    # The late rejection was read and applied as "nothing to do": the order stays confirmed and its
    # history has no second decision.
    await eventually(every_answer_consumed)
    assert (await scenario.call("GET", f"/orders/{order['id']}", scenario.unit_1))["status"] == "confirmed"
    history = (await scenario.call("GET", f"/orders/{order['id']}/history", scenario.unit_1))["items"]
    assert [h["action"] for h in history] == ["placed", "confirmed"]


async def test_who_may_order_and_under_which_agreement(scenario):
    deal = await agreement(scenario)
    outsider = scenario.tree.actor("dept_a", "procurement")
    await scenario.call("POST", "/orders", outsider, 404, json={**order_body(scenario, deal),
                                                                "org_id": str(scenario.tree["dept_a"].id)})
    lead_org = await scenario.call("POST", "/orders", scenario.lead, 403, json={**order_body(scenario, deal),
                                                                                "org_id": str(scenario.tree["soe"].id)})
    assert lead_org["type"].endswith("/not-a-participant")
    await scenario.call("POST", f"/agreements/{deal['id']}/suspend", scenario.lead)
    suspended = await scenario.call("POST", "/orders", scenario.unit_1, 409, json=order_body(scenario, deal))
    assert suspended["type"].endswith("/agreement-not-active")
    await scenario.call("POST", f"/agreements/{deal['id']}/resume", scenario.lead)
    await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    await scenario.call("POST", f"/agreements/{deal['id']}/suspend", scenario.unit_1, 403)
    terminated = await scenario.call("POST", f"/agreements/{deal['id']}/terminate", scenario.lead)
    assert terminated["status"] == "terminated"
    await scenario.call("POST", "/orders", scenario.unit_1, 409, json=order_body(scenario, deal))
    # The winner sees its agreement; the loser does not.
    await scenario.call("GET", f"/agreements/{deal['id']}", scenario.supplier_y)
    await scenario.call("GET", f"/agreements/{deal['id']}", scenario.supplier_x, 404)


async def test_a_reservation_released_at_year_end_cancels_the_confirmed_order(scenario, nats):
    """The budget's year-end close released the order's reservation (reason line_closed): the order
    is cancelled with that reason and the supplier can no longer deliver it. A release that follows
    the order's own cancellation changes nothing."""
    deal = await agreement(scenario)
    lapsed = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    kept = await scenario.call("POST", "/orders", scenario.unit_2, 202, json=order_body(scenario, deal,
                                                                                        unit="enterprise_2"))
    for order, reader in ((lapsed, scenario.unit_1), (kept, scenario.unit_2)):
        await scenario.answer_order(order, "accepted")

        async def confirmed(order=order, reader=reader):
            return (await scenario.call("GET", f"/orders/{order['id']}", reader))["status"] == "confirmed"

        await eventually(confirmed)
    await scenario.answer_order(lapsed, "released", reason="line_closed")
    await scenario.answer_order(kept, "released")  # not a year-end release: nothing to do
    await status_of(scenario, lapsed, "cancelled")
    await eventually(lambda: consumed(scenario, "procurement--budget-reservation-released"))
    got = await scenario.call("GET", f"/orders/{lapsed['id']}", scenario.unit_1)
    assert (got["status"], got["reason"]) == ("cancelled", "line_closed")
    await scenario.call("POST", f"/orders/{lapsed['id']}/deliver", scenario.supplier_y, 409)
    history = await scenario.call("GET", f"/orders/{lapsed['id']}/history", scenario.unit_1)
    assert [(h["action"], h["actor"]) for h in history["items"]][-1] == (
        "cancelled", "event:budget.reservation.released.v1")

    async def both_consumed():
        async with scenario.svc.db.session() as session:
            return (await session.execute(sa.select(sa.func.count()).select_from(inbox).where(
                inbox.c.consumer == "procurement--budget-reservation-released"))).scalar() == 2

    await eventually(both_consumed)
    assert (await scenario.call("GET", f"/orders/{kept['id']}", scenario.unit_2))["status"] == "confirmed"
