"""The order flow keeps its guarantees when parts fail: NATS down, a service killed, events
duplicated and late, a consumer that keeps failing. Each test ends with the full reconciliation
and no order left waiting."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid

import httpx
import nats as nats_client
import pytest

from kernel.contracts import OrderDelivered, OrderPlaced
from kernel.events import new_event
from tests.e2e.reconcile import everything, reconcile
from tests.e2e.stack import RunningStack
from tests.support.nats import NatsServer
from zhengban.demo.client import wait_until
from zhengban.demo.scenario import Scenario

pytestmark = pytest.mark.slow
FIGURES: dict[str, dict] = {}  # collected for docs/reliability.md (printed with -s)


def run_until_orders(stack: RunningStack) -> Scenario:
    scenario = Scenario(stack.url, stack.admin_password)
    for step in ("create_orgs", "approve_budgets", "run_campaign"):
        getattr(scenario, step)()
    return scenario


def finish(scenario: Scenario) -> dict:
    for step in ("wait_for_budget_answers", "cancel_and_deliver", "wait_for_seats"):
        getattr(scenario, step)()
    return reconcile(scenario)


def report(name: str, stack: RunningStack, figures: dict, **faults) -> None:
    consumed = {svc: stack.consumed(svc) for svc in ("budget", "procurement", "licenses")}
    FIGURES[name] = {**figures, **faults, "consumed": consumed}
    print(f"\n{name}: {json.dumps(FIGURES[name], ensure_ascii=False)}")


def test_nats_stopped_mid_flow_and_restarted_on_the_same_storage(tmp_path):
    nats = NatsServer(tmp_path / "nats-store")
    nats.start()
    stack = RunningStack(tmp_path / "data", extra_args=["--nats-url", nats.url])
    stack.start()
    try:
        scenario = run_until_orders(stack)
        nats.stop()
        # While NATS is down the API keeps answering, and orders are still accepted (202).
        scenario.place_orders()
        assert all(o["status"] == "pending_budget" for o in scenario.made.orders.values())
        assert httpx.get(f"{stack.url}/api/v1/procurement/orders", headers=stack.token()).status_code == 200
        nats.start()
        figures = finish(scenario)
        assert figures["statuses"] == {"delivered": 5, "cancelled": 1, "rejected": 1}
        report("nats_outage", stack, figures, faults_injected=1)
    finally:
        stack.close()
        nats.stop()


@pytest.mark.parametrize("victim", ["budget", "procurement"])
def test_a_service_killed_in_the_middle_of_the_order_flow(tmp_path, victim):
    stack = RunningStack(tmp_path / "data")
    stack.start()
    try:
        scenario = run_until_orders(stack)
        # Killed between orders, so the flow surely crosses the kill: the orders placed before it may
        # be half-answered, those after it are placed while the victim is away (procurement) or have
        # no budget to answer them until it is back (budget); the client retries a 502/503.
        scenario.place_orders(stop=3)
        killed = stack.kill(f"serve {victim} ", signal.SIGKILL)
        scenario.place_orders(first=3)
        stack.wait_replaced(f"serve {victim} ", killed)
        assert len(scenario.made.orders) == 7
        figures = finish(scenario)
        assert figures["statuses"] == {"delivered": 5, "cancelled": 1, "rejected": 1}
        report(f"sigkill_{victim}", stack, figures, faults_injected=1)
    finally:
        stack.close()


async def republish(nats_url: str, subjects: list[str]) -> int:
    """Every event on these subjects again, three ways: the same message id (JetStream drops it),
    a new message id with the same event id (the inbox drops it), and the same fact in a new event
    (the business keys drop it). Returns how many copies went out."""
    nc = await nats_client.connect(nats_url)
    sent = 0
    try:
        js = nc.jetstream()
        originals: list[tuple[str, bytes]] = []
        for subject in subjects:
            # Read everything first: copies published while reading would be read again, forever.
            sub = await js.subscribe(subject, ordered_consumer=True)
            while True:
                try:
                    msg = await sub.next_msg(timeout=1)
                except TimeoutError:
                    break
                originals.append((subject, msg.data))
            await sub.unsubscribe()
        for subject, data in originals:
            event = json.loads(data)
            await js.publish(subject, data, headers={"Nats-Msg-Id": event["id"]})
            await js.publish(subject, data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
            copy = {**event, "id": str(uuid.uuid4())}
            await js.publish(subject, json.dumps(copy).encode(), headers={"Nats-Msg-Id": copy["id"]})
            sent += 3
    finally:
        await nc.close()
    return sent


def nats_url_of(stack: RunningStack) -> str:
    for _, args in stack.children():
        if "nats-server" in args:
            parts = args.split()
            return f"nats://127.0.0.1:{parts[parts.index('-p') + 1]}"
    raise AssertionError("no nats-server child")


async def consumers_now(nats_url: str) -> dict[str, tuple[int, int, int]]:
    """(messages delivered, pending, awaiting ack) of every durable consumer, by name."""
    nc = await nats_client.connect(nats_url)
    try:
        js = nc.jetstream()
        found = {}
        for stream in await js.streams_info():
            for info in await js.consumers_info(stream.config.name):
                if info.config.durable_name:
                    found[f"{stream.config.name}/{info.name}"] = (
                        info.delivered.consumer_seq, info.num_pending, info.num_ack_pending)
        return found
    finally:
        await nc.close()


def test_every_event_delivered_again_and_late_changes_nothing_twice(tmp_path):
    stack = RunningStack(tmp_path / "data")
    stack.start()
    try:
        scenario = run_until_orders(stack)
        scenario.place_orders()
        scenario.wait_for_budget_answers()
        scenario.cancel_and_deliver()
        scenario.wait_for_seats()
        figures = reconcile(scenario)
        before = everything(scenario)
        nats_url = nats_url_of(stack)
        read_before = asyncio.run(consumers_now(nats_url))
        # Now, late: every placement, cancellation and delivery once more, three ways.
        copies = asyncio.run(republish(nats_url, [
            "procurement.demand.submitted", "procurement.order.placed", "procurement.order.cancelled",
            "procurement.order.delivered", "budget.reservation.accepted", "budget.reservation.rejected"]))
        assert copies > 0

        def every_copy_read():
            now = asyncio.run(consumers_now(nats_url))
            if any(pending or unacked for _, pending, unacked in now.values()):
                return None
            return sum(now[name][0] - read_before.get(name, (0,))[0] for name in now)

        # JetStream drops the copies with the original message id (its duplicate window is an hour);
        # each of the other two thirds reaches at least one consumer, which reads it to the end.
        read = wait_until(every_copy_read, timeout=90, what="every copy read by every consumer")
        assert read >= copies * 2 // 3, (read, copies)
        assert stack.consumed("budget").get("duplicate", 0) >= 1
        assert reconcile(scenario) == figures
        assert everything(scenario) == before
        report("duplicates_and_late", stack, figures, copies_published=copies, copies_read=read)
    finally:
        stack.close()


def test_a_consumer_failing_on_one_event_parks_it_and_a_replay_completes_it(tmp_path):
    stack = RunningStack(tmp_path / "data", env={"ZHENGBAN_BUDGET_MAX_DELIVERY_ATTEMPTS": "3"})
    stack.start()
    try:
        scenario = run_until_orders(stack)
        admin = scenario.admin
        # A delivery that reaches the budget before the reservation it spends: the budget cannot
        # apply it, retries, and parks it.
        unit = scenario.made.orgs["health"]
        order_id = uuid.uuid4()
        placed = OrderPlaced(order_id=order_id, agreement_id=uuid.uuid4(), campaign_id=uuid.uuid4(),
                             item_id=uuid.uuid4(), product_id=uuid.uuid4(), category="office", org_id=unit.id,
                             budget_line_id=unit.line_id, quantity=1, unit_price_fen=10_000, amount_fen=10_000)
        delivered = OrderDelivered(order_id=order_id, org_id=unit.id, budget_line_id=unit.line_id,
                                   amount_fen=10_000, supplier_org_id=uuid.uuid4(), product_id=uuid.uuid4(),
                                   product_name="永中 Office", vendor="永中软件", category="office", metric="device",
                                   quantity=1, term_months=None, valid_from=None, valid_to=None)
        publish = _publisher(nats_url_of(stack))
        publish(new_event("procurement.order.delivered", delivered, source="zhengban/procurement"))

        def parked():
            items = admin.get("/api/v1/budget/dead-letters")["items"]
            return [d for d in items if d["subject"] == "procurement.order.delivered"]

        dead = wait_until(parked, timeout=60, what="the delivery parked")[0]
        assert "no live reservation" in dead["error"] and dead["attempts"] == 3
        # Meanwhile the rest flows on.
        scenario.place_orders()
        # The fix: finance adds the money and the reservation arrives; replaying the parked
        # delivery now spends it.
        scenario.user("finance", "finance", label="finance").post(
            f"/api/v1/budget/lines/{unit.line_id}/adjustments", {"delta_fen": 10_000, "reason": "追加"})
        publish(new_event("procurement.order.placed", placed, source="zhengban/procurement"))
        wait_until(lambda: any(e["kind"] == "reserve" and e["ref_id"] == str(order_id)
                               for e in admin.all(f"/api/v1/budget/lines/{unit.line_id}/entries")),
                   what="the late reservation")
        admin.post(f"/api/v1/budget/dead-letters/{dead['id']}/replay")
        line = admin.get(f"/api/v1/budget/lines/{unit.line_id}")
        entries = admin.all(f"/api/v1/budget/lines/{unit.line_id}/entries")
        assert [e["amount_fen"] for e in entries if e["kind"] == "spend" and e["ref_id"] == str(order_id)] == [10_000]
        assert line["spent_fen"] >= 10_000
        # Reconcile the scenario's own orders, leaving out the injected one's spending.
        for step in ("wait_for_budget_answers", "cancel_and_deliver", "wait_for_seats"):
            getattr(scenario, step)()
        orders = [o for o in scenario.made.orders.values() if o["budget_line_id"] == unit.line_id]
        spent = sum(o["amount_fen"] for o in orders if o["status"] == "delivered")
        wait_until(lambda: admin.get(f"/api/v1/budget/lines/{unit.line_id}")["spent_fen"] == spent + 10_000,
                   what="the health line's spending")
        report("dead_letter_and_replay", stack, {"orders": len(scenario.made.orders)}, faults_injected=1,
               parked=1, replayed=1)
    finally:
        stack.close()


def _publisher(nats_url: str):
    def publish(event) -> None:
        async def go():
            nc = await nats_client.connect(nats_url)
            try:
                await nc.jetstream().publish(event.nats_subject, event.model_dump_json().encode(),
                                             headers={"Nats-Msg-Id": str(event.id)})
            finally:
                await nc.close()

        asyncio.run(go())

    return publish
