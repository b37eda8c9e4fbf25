"""One trace through the whole flow: an order placed and delivered with the caller's `traceparent`
is followed through the gateway, procurement, NATS, the budget and licenses, in spans that each
process writes (the test-only `ZHENGBAN_TRACES_DIR` exporter)."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.e2e.stack import RunningStack
from tests.e2e.test_faults import run_until_orders
from zhengban.demo.scenario import PARTICIPANTS

pytestmark = pytest.mark.slow

# The NATS hops: procurement publishes, the budget consumes and answers, procurement consumes the
# answer; the delivery reaches the budget and licenses.
HOPS = [("zhengban-procurement", "procurement.order.placed publish"),
        ("zhengban-budget", "procurement.order.placed process"),
        ("zhengban-budget", "budget.reservation.accepted publish"),
        ("zhengban-procurement", "budget.reservation.accepted process"),
        ("zhengban-procurement", "procurement.order.delivered publish"),
        ("zhengban-budget", "procurement.order.delivered process"),
        ("zhengban-licenses", "procurement.order.delivered process")]


def spans_of(traces_dir, trace_id: str) -> list[dict]:
    spans = []
    for path in traces_dir.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                spans.append(span)
    return spans


def wait_for_spans(traces_dir, trace_id: str, wanted, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        spans = spans_of(traces_dir, trace_id)
        if wanted(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.2)


def test_an_order_is_one_trace_through_all_four_processes(tmp_path):
    traces = tmp_path / "traces"
    stack = RunningStack(tmp_path / "data", env={"ZHENGBAN_TRACES_DIR": str(traces)})
    stack.start()
    try:
        scenario = run_until_orders(stack)
        trace_id = os.urandom(16).hex()
        item = scenario.admin.get(f"/api/v1/procurement/agreements/{scenario.made.agreement_id}")["items"][0]
        key = next(iter(PARTICIPANTS))
        order = scenario.unit(key).post("/api/v1/procurement/orders", {
            "agreement_id": scenario.made.agreement_id, "item_id": item["item_id"], "quantity": 1,
            "budget_line_id": scenario.made.orgs[key].line_id, "org_id": scenario.org_id(key)},
            headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"})
        deadline = time.monotonic() + 60
        while scenario.admin.get(f"/api/v1/procurement/orders/{order['id']}")["status"] != "confirmed":
            assert time.monotonic() < deadline, "the budget did not confirm the order"
            time.sleep(0.2)
        supplier = scenario.user("kingsoft", "supplier", label="金山办公 投标")
        supplier.post(f"/api/v1/procurement/orders/{order['id']}/deliver", {"keys": ["WPS-TRACE-1"]},
                      headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"})

        # Each process writes its spans when it ends them, in its own time: wait for every hop the
        # test names, not just the last one to be expected, or a slow consumer fails the test.
        def complete(spans):
            return set(HOPS) <= {(s["service"], s["name"]) for s in spans}

        spans = wait_for_spans(traces, trace_id, complete)
        names = {(s["service"], s["name"]) for s in spans}
        assert {s["service"] for s in spans} == {"zhengban-gateway", "zhengban-procurement", "zhengban-budget",
                                                 "zhengban-licenses"}, names
        for hop in HOPS:
            assert hop in names, (hop, sorted(names))
        kinds = {s["kind"] for s in spans}
        assert {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"} <= kinds
        # Database statements are in the trace too, under the spans that ran them.
        assert any(s["attributes"].get("db.system") or s["attributes"].get("db.system.name") for s in spans)
        by_id = {s["span_id"]: s for s in spans}
        consume = next(s for s in spans if s["name"] == "procurement.order.placed process")
        publish = by_id[consume["parent_id"]]
        assert publish["name"] == "procurement.order.placed publish"
    finally:
        stack.close()
