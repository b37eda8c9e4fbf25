"""Idempotency-Key over real HTTP, through the gateway, as a script retrying after a lost answer
sees it: the retry sent the moment the answer arrived, and the retry after the service died between
committing the work and answering."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.stack import RunningStack
from zhengban.demo.client import wait_until
from zhengban.demo.scenario import Scenario

pytestmark = pytest.mark.slow
CRASH_KEY = "order-then-crash"


def test_an_immediate_retry_replays_the_first_answer(tmp_path):
    stack = RunningStack(tmp_path / "data")
    stack.start()
    try:
        admin = stack.token()
        root = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()["org_id"]
        with httpx.Client(base_url=stack.url, headers=admin, timeout=30) as http:
            for n in range(50):
                headers = {"Idempotency-Key": f"org-{n}"}
                body = {"name": f"重试单位 {n}", "kind": "unit", "parent_id": root}
                first = http.post("/api/v1/identity/orgs", json=body, headers=headers)
                retry = http.post("/api/v1/identity/orgs", json=body, headers=headers)
                assert first.status_code == retry.status_code == 201, (n, first.text, retry.text)
                assert retry.content == first.content and retry.headers["idempotent-replayed"] == "true"
                assert "idempotent-replayed" not in first.headers
                line = {"org_id": first.json()["id"], "fiscal_year": 2026, "category": "office",
                        "title": f"办公软件 {n}", "quantity": 2, "unit_price_fen": 50_000}
                first = http.post("/api/v1/budget/lines", json=line, headers=headers)
                retry = http.post("/api/v1/budget/lines", json=line, headers=headers)
                assert first.status_code == retry.status_code == 201, (n, first.text, retry.text)
                assert retry.content == first.content and retry.headers["idempotent-replayed"] == "true"
            orgs = http.get("/api/v1/identity/orgs", params={"limit": 200}).json()["items"]
            assert sum(1 for o in orgs if o["name"].startswith("重试单位")) == 50
    finally:
        stack.close()


def test_a_service_killed_after_committing_an_order_replays_that_order_on_retry(tmp_path):
    """The procurement process dies right after the commit of the order and before answering (a
    fault only this test sets); the client's retry with the same key gets that order, and only it."""
    stack = RunningStack(tmp_path / "data", env={"ZHENGBAN_PROCUREMENT_CRASH_AFTER_COMMIT_FOR_KEY": CRASH_KEY})
    stack.start()
    try:
        scenario = Scenario(stack.url, stack.admin_password)
        for step in ("create_orgs", "approve_budgets", "run_campaign"):
            getattr(scenario, step)()
        made = scenario.made
        item = scenario.admin.get(f"/api/v1/procurement/agreements/{made.agreement_id}")["items"][0]["item_id"]
        body = {"agreement_id": made.agreement_id, "item_id": item, "quantity": 7,
                "budget_line_id": made.orgs["school_1"].line_id, "org_id": scenario.org_id("school_1")}
        unit = scenario.unit("school_1").http
        before = stack.pids("serve procurement ")
        lost = unit.post("/api/v1/procurement/orders", json=body, headers={"Idempotency-Key": CRASH_KEY})
        # The gateway says the service went away mid-request; the order was committed all the same.
        assert lost.status_code in (502, 503, 504), lost.text
        stack.wait_replaced("serve procurement ", before)
        retry = wait_until(lambda: ok(unit.post("/api/v1/procurement/orders", json=body,
                                                 headers={"Idempotency-Key": CRASH_KEY})), what="the retry answered")
        assert retry.status_code == 202 and retry.headers["idempotent-replayed"] == "true"
        order = retry.json()
        assert (order["quantity"], order["org_id"], order["status"]) == (7, body["org_id"], "pending_budget")
        orders = scenario.admin.all("/api/v1/procurement/orders", org_id=body["org_id"])
        assert [o["id"] for o in orders] == [order["id"]]
        # It goes on like any other order: the budget answers it.
        confirmed = wait_until(lambda: scenario.admin.get(f"/api/v1/procurement/orders/{order['id']}")["status"]
                               != "pending_budget", what="the budget's answer")
        assert confirmed
    finally:
        stack.close()


def ok(resp: httpx.Response) -> httpx.Response | None:
    """The answer, unless the service is still coming back (then None: ask again)."""
    return None if resp.status_code in (502, 503, 504) else resp
