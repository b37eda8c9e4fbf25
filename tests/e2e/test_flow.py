"""The whole product as separate processes over real HTTP and NATS: budget → campaign → agreement →
orders → reservations → delivery → entitlements → allocations → compliance, and `zhengban demo`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import httpx
import pytest

from tests.e2e.reconcile import reconcile
from zhengban.demo.scenario import Scenario

pytestmark = pytest.mark.slow

def assert_issue_20_steps(made) -> None:
    """The demo's 二上二下 line, budget transfer and refused second office seat."""
    assert made.control == {"line_id": made.control["line_id"], "title": "国产数据库正版化", "requested_fen": 600_000,
                            "control_fen": 450_000, "status_after_control": "draft", "resubmitted_fen": 450_000,
                            "approved_fen": 450_000, "status": "approved"}
    transfer = made.transfer
    assert (transfer["status"], transfer["amount_fen"], transfer["from_available_fen"],
            transfer["to_available_fen"]) == ("approved", 50_000, 250_000, 500_000)
    assert len({transfer["requested_by"], transfer["decided_by"], transfer["control_set_by"]}) == 3
    seat = made.second_seat
    assert (seat["device"], seat["status"]) == ("SALES-001", 409) and seat["type"].endswith(
        "/category-already-licensed"), seat


def test_the_whole_flow_reconciles_in_every_service(stack):
    scenario = Scenario(stack.url, stack.admin_password)
    report = scenario.run()
    figures = reconcile(scenario)
    assert figures["statuses"] == {"delivered": 5, "cancelled": 1, "rejected": 1}
    rejected = [o for o in scenario.made.orders.values() if o["status"] == "rejected"]
    assert rejected[0]["reason"] == "insufficient_funds"
    # Compliance: every seat allocated is genuine; the computers without one are named. 省实验中学's three
    # computers report raw names: a WPS seat with WPS installed is genuine; a WPS seat beside Microsoft
    # Office and the free personal WPS are not.
    office = report["office"]
    assert (office["genuine"], office["non_genuine"]) == (71, 8)
    assert report["computers"]["total"] == 79
    # OEM seats for every computer, and 统信UOS recorded as pre-installed on 省实验中学's.
    assert (report["os"]["genuine"], report["os"]["non_genuine"]) == (79, 0)
    by_title = {t["name"]: t for t in report["titles"]}
    assert (by_title["WinRAR"]["non_genuine"], by_title["7-Zip"]["genuine"]) == (1, 2)  # no seat; free
    # The title is genuine on both computers holding its seat; the category is not on the one with Office too.
    assert by_title["Office 2016"]["non_genuine"] == 1
    assert (by_title["WPS Office 2019"]["genuine"], by_title["WPS Office 2019"]["non_genuine"]) == (2, 0)
    cancelled = next(o for k, o in scenario.made.orders.items() if k.startswith("sales#"))
    line = scenario.admin.get(f"/api/v1/budget/lines/{cancelled['budget_line_id']}")
    assert line["reserved_fen"] == 0 and line["spent_fen"] == 0  # the cancellation released it all
    assert_issue_20_steps(scenario.made)
    # The schools' computers came in as one workbook each, through POST /devices:import.
    assert {key: (c["created"], c["updated"], c["unchanged"]) for key, c in scenario.made.imports.items()} \
        == {"school_1": (43, 0, 0), "health": (33, 0, 0)}
    print(f"\nwhole flow: {figures}")


def test_an_export_crosses_the_gateway_in_chunks_and_whole(stack):
    """A list's CSV, which the service streams as it reads its pages, reaches the caller through
    the gateway in chunks too (gateway/proxy.py): no length declared, and every line of the list
    there, in the list's order (this test's lines, and any the module's other tests made)."""
    admin = stack.token()
    org_id = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()["org_id"]
    made = [httpx.post(f"{stack.url}/api/v1/budget/lines", headers=admin, json={
        "org_id": org_id, "fiscal_year": 2027, "category": "office", "title": f"导出{n}", "quantity": 1,
        "unit_price_fen": 100}) for n in range(3)]
    assert [resp.status_code for resp in made] == [201] * 3, made[0].text
    with httpx.stream("GET", f"{stack.url}/api/v1/budget/lines.csv", headers=admin, timeout=60) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["transfer-encoding"] == "chunked" and "content-length" not in resp.headers
        body = resp.read()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    listed, cursor = [], None
    while True:
        page = httpx.get(f"{stack.url}/api/v1/budget/lines", headers=admin,
                         params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        listed += [line["id"] for line in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert {resp.json()["id"] for resp in made} <= set(listed)
    assert rows[0][0] == "预算项目编号" and [row[0] for row in rows[1:]] == listed


def test_zhengban_demo_fills_a_running_instance(stack):
    admin = stack.token()

    def campaigns() -> dict[str, dict]:
        resp = httpx.get(f"{stack.url}/api/v1/procurement/campaigns", headers=admin, params={"limit": 200})
        assert resp.status_code == 200 and resp.json()["next_cursor"] is None
        return {c["id"]: c for c in resp.json()["items"]}

    # The module's stack already holds the previous test's campaign, with the same title: the demo's
    # is the one campaign that was not there before it ran.
    before = campaigns()
    done = subprocess.run([sys.executable, "-m", "zhengban", "demo", "--gateway-url", stack.url,
                           "--admin-password", stack.admin_password], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "orders        1 cancelled, 5 delivered, 1 rejected" in done.stdout
    assert "8 non-genuine" in done.stdout
    assert "asset registers imported from Excel: 省第一中学 43 created, 省卫生健康委员会 33 created" in done.stdout
    assert "WinRAR 0/1" in done.stdout and "7-Zip 2/0" in done.stdout
    assert "control figure 450000 fen (line back to draft)" in done.stdout
    assert "resubmitted 450000 fen, approved 450000 fen" in done.stdout
    assert "50000 fen from the OA line to the database line: approved" in done.stdout
    assert "a second office suite on SALES-001 refused: 409 category-already-licensed" in done.stdout
    made = [c for campaign_id, c in campaigns().items() if campaign_id not in before]
    assert [(c["title"], c["status"]) for c in made] == [("2026 年度全省办公软件联合采购", "awarded")]
    assert made[0]["agreement_id"] is not None
