"""The order flow with the real budget service on the same NATS: two participants, two suppliers,
two rounds, a panel of three, award, agreement, orders confirmed, one rejected for lack of funds,
one cancelled with its funds released, one delivered."""

from __future__ import annotations

import pytest

from tests.budget.conftest import assert_ledger_matches
from tests.procurement.conftest import Scenario
from tests.support.apps import eventually


@pytest.fixture
async def both(start_service, tree, nats):
    budget = await start_service("budget")
    procurement = await start_service("procurement")
    return budget, Scenario(procurement, tree, nats.url)


async def office_line(budget, tree, unit: str, quantity: int, *, fiscal_year: int = 2026,
                      category: str = "office") -> dict:
    editor = tree.actor(unit, "budget_editor")
    line = (await budget.client.post("/api/v1/budget/lines", headers=editor.headers, json={
        "org_id": str(tree[unit].id), "fiscal_year": fiscal_year, "category": category, "title": "WPS 正版化",
        "quantity": quantity, "unit_price_fen": 6_000 if category == "antivirus" else 60_000})).json()
    await budget.client.post(f"/api/v1/budget/lines/{line['id']}/submit", headers=editor.headers)
    approved = await budget.client.post(f"/api/v1/budget/lines/{line['id']}/approve",
                                        headers=tree.actor("sasac", "finance").headers,
                                        json={"approved_fen": line["requested_fen"]})
    assert approved.status_code == 200, approved.text
    return approved.json()


async def figures(budget, tree, line_id) -> dict:
    return (await budget.client.get(f"/api/v1/budget/lines/{line_id}",
                                    headers=tree.actor("sasac", "auditor").headers)).json()


async def test_the_whole_order_flow_with_the_budget_service(both, tree):
    budget, sc = both
    line_1 = await office_line(budget, tree, "enterprise_1", 100)  # 6,000,000 fen
    line_2 = await office_line(budget, tree, "enterprise_2", 50)  # 3,000,000 fen
    sc.lines = {"enterprise_1": line_1["id"], "enterprise_2": line_2["id"]}
    await sc.create()
    path = sc.path
    await sc.call("POST", f"{path}/open-demand", sc.lead)
    demands = [await sc.declare("enterprise_1", 0, 100, answer=None),
               await sc.declare("enterprise_2", 0, 50, answer=None)]

    async def all_accepted():
        listed = await sc.call("GET", f"{path}/demands", sc.lead)
        return {d["status"] for d in listed["items"]} == {"accepted"}

    await eventually(all_accepted)
    assert (await figures(budget, tree, line_1["id"]))["pre_encumbered_fen"] == 6_000_000
    await sc.call("POST", f"{path}/lock-demand", sc.lead)
    await sc.call("POST", f"{path}/open-offers", sc.lead, json={
        "supplier_org_ids": [str(tree["supplier_x"].id), str(tree["supplier_y"].id)]})
    await sc.offer(sc.supplier_x, (55_000, 9_000))
    await sc.offer(sc.supplier_y, (58_000, 9_500))
    await sc.call("POST", f"{path}/close-offers", sc.lead)
    await sc.call("POST", f"{path}/rounds", sc.lead)
    await sc.offer(sc.supplier_y, (52_000, 9_000))
    await sc.call("POST", f"{path}/close-offers", sc.lead)
    await sc.call("POST", f"{path}/panel", sc.lead, json={"member_user_ids": [str(m.subject) for m in sc.panel]})
    for member in sc.panel:
        for supplier in ("supplier_x", "supplier_y"):
            await sc.call("POST", f"{path}/evaluations", member, 201, json={
                "supplier_org_id": str(tree[supplier].id), "score": 85, "recommend": True})
    awarded = await sc.call("POST", f"{path}/award", sc.lead, json={"supplier_org_id": str(tree["supplier_y"].id)})
    assert awarded["status"] == "awarded" and awarded["items"][0]["unified_price_fen"] == 52_000
    agreement_id = awarded["agreement_id"]

    def order(unit, quantity):
        return {"agreement_id": agreement_id, "item_id": sc.items[0]["id"], "quantity": quantity,
                "budget_line_id": sc.lines[unit], "org_id": str(tree[unit].id)}

    actor = {"enterprise_1": sc.unit_1, "enterprise_2": sc.unit_2}
    placed = {}
    for name, unit, quantity in (("to_cancel", "enterprise_1", 40), ("to_deliver", "enterprise_1", 30),
                                 ("uses_line_2", "enterprise_2", 50)):
        placed[name] = await sc.call("POST", "/orders", actor[unit], 202, json=order(unit, quantity))

    async def status(name, want):
        async def check():
            got = await sc.call("GET", f"/orders/{placed[name]['id']}", sc.lead)
            return got if got["status"] == want else None
        return await eventually(check)

    for name in placed:
        await status(name, "confirmed")
    # enterprise_2's line is fully spoken for (its demand converted, the rest still held): no funds.
    placed["rejected"] = await sc.call("POST", "/orders", sc.unit_2, 202, json=order("enterprise_2", 20))
    rejected = await status("rejected", "rejected")
    assert rejected["reason"] == "insufficient_funds"

    await sc.call("POST", f"/orders/{placed['to_cancel']['id']}/cancel", sc.unit_1, json={"reason": "需求变更"})
    await sc.call("POST", f"/orders/{placed['to_deliver']['id']}/deliver", sc.supplier_y)

    async def settled():
        line = await figures(budget, tree, line_1["id"])
        return line if line["spent_fen"] == 30 * 52_000 and line["reserved_fen"] == 0 else None

    line = await eventually(settled)
    # 6,000,000 pre-encumbered by the demand; the two orders took 2,080,000 and 1,560,000 of it;
    # the cancelled one's money went back to available, the delivered one's is spent.
    assert line["pre_encumbered_fen"] == 6_000_000 - 2_080_000 - 1_560_000
    assert line["available_fen"] == 2_080_000
    await assert_ledger_matches(budget, line_1["id"])
    line_2_now = await figures(budget, tree, line_2["id"])
    assert (line_2_now["reserved_fen"], line_2_now["available_fen"]) == (50 * 52_000, 0)
    await assert_ledger_matches(budget, line_2["id"])
    assert {d["id"] for d in demands}


async def test_a_demand_on_a_line_of_another_year_or_kind_ends_rejected_and_holds_nothing(both, tree):
    """SPEC Budget: the 2026 campaign's office item draws only on a 2026 office line."""
    budget, sc = both
    last_year = await office_line(budget, tree, "enterprise_1", 100, fiscal_year=2025)
    antivirus = await office_line(budget, tree, "enterprise_2", 100, category="antivirus")
    sc.lines = {"enterprise_1": last_year["id"], "enterprise_2": antivirus["id"]}
    await sc.create()
    await sc.call("POST", f"{sc.path}/open-demand", sc.lead)
    demands = [await sc.declare("enterprise_1", 0, 10, answer=None),
               await sc.declare("enterprise_2", 0, 10, answer=None)]

    async def answered():
        got = [await sc.call("GET", f"{sc.path}/demands/{d['id']}", sc.lead) for d in demands]
        return got if all(d["status"] != "pending_budget" for d in got) else None

    got = await eventually(answered)
    assert [(d["status"], d["reason"]) for d in got] == [("rejected", "fiscal_year_mismatch"),
                                                         ("rejected", "category_mismatch")]
    for line in (last_year, antivirus):
        now = await figures(budget, tree, line["id"])
        assert (now["pre_encumbered_fen"], now["available_fen"]) == (0, line["approved_fen"])
        await assert_ledger_matches(budget, line["id"])
