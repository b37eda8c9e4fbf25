"""A budget line's life, its figures and ledger, the price policy, and the summary."""

from __future__ import annotations

from tests.budget.conftest import PREFIX, approved_line, assert_ledger_matches, draft_line
from tests.support.apps import put_as_read


async def test_draft_submit_approve_with_figures_ledger_and_history(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor, quantity=10, unit_price_fen=50_000)
    assert line["status"] == "draft" and line["requested_fen"] == 500_000
    assert line["procurement_method"] == "below_threshold" and line["cap_fen"] == 60_000
    submitted = await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    assert submitted.json()["status"] == "submitted"
    finance = tree.actor("province", "finance")
    approved = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                        json={"approved_fen": 400_000, "note": "压减两成"})
    body = approved.json()
    assert approved.status_code == 200 and body["status"] == "approved"
    assert (body["approved_fen"], body["available_fen"], body["reserved_fen"]) == (400_000, 400_000, 0)
    entries = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries", headers=editor.headers)).json()
    assert [(e["kind"], e["amount_fen"]) for e in entries["items"]] == [("approve", 400_000)]
    adjusted = await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                        json={"delta_fen": -50_000, "reason": "年中调整"})
    assert adjusted.status_code == 200, adjusted.text
    assert adjusted.json()["available_fen"] == 350_000
    too_much = await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                        json={"delta_fen": -400_000, "reason": "x"})
    assert too_much.status_code == 409 and too_much.json()["type"].endswith("/insufficient-funds")
    await assert_ledger_matches(budget, line["id"])
    history = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/history",
                                       headers=editor.headers)).json()["items"]
    assert [h["action"] for h in history] == ["created", "submitted", "approved", "adjusted"]
    assert history[2]["actor"] == f"user:{finance.subject}" and history[2]["data"]["note"] == "压减两成"
    closed = await budget.client.post(f"{PREFIX}/lines/{line['id']}/close", headers=finance.headers)
    assert closed.json()["status"] == "closed"


async def test_return_with_a_reason_edit_and_resubmit_then_reject(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    line = await draft_line(budget, editor)
    await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    returned = await budget.client.post(f"{PREFIX}/lines/{line['id']}/return", headers=finance.headers,
                                        json={"reason": "数量偏多，请核实"})
    assert returned.json()["status"] == "draft" and returned.json()["return_reason"] == "数量偏多，请核实"
    edited = await budget.client.patch(f"{PREFIX}/lines/{line['id']}", headers=editor.headers, json={"quantity": 6})
    assert edited.json()["requested_fen"] == 300_000
    await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    rejected = await budget.client.post(f"{PREFIX}/lines/{line['id']}/reject", headers=finance.headers,
                                        json={"reason": "本年度不安排"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["reject_reason"] == "本年度不安排"
    again = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                     json={"approved_fen": 1})
    assert again.status_code == 409 and again.json()["type"].endswith("/invalid-status")
    assert (await budget.client.patch(f"{PREFIX}/lines/{line['id']}", headers=editor.headers,
                                      json={"quantity": 1})).status_code == 409


async def test_approval_cannot_exceed_the_request(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    line = await draft_line(budget, editor, quantity=2, unit_price_fen=10_000)
    await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                    json={"approved_fen": 20_001})
    assert resp.status_code == 422 and resp.json()["type"].endswith("/approved-above-requested")


async def test_price_caps_special_need_and_inherited_policies(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    above = await budget.client.post(f"{PREFIX}/lines", headers=editor.headers, json={
        "org_id": str(tree["dept_a"].id), "fiscal_year": 2026, "category": "office", "title": "专业版",
        "quantity": 1, "unit_price_fen": 90_000})
    assert above.status_code == 422 and above.json()["type"].endswith("/price-above-cap")
    special = await draft_line(budget, editor, quantity=1, unit_price_fen=90_000, justification="设计岗位需要专业版")
    assert special["special_need"] is True and special["cap_fen"] == 140_000
    beyond = await budget.client.post(f"{PREFIX}/lines", headers=editor.headers, json={
        "org_id": str(tree["dept_a"].id), "fiscal_year": 2026, "category": "office", "title": "旗舰版",
        "quantity": 1, "unit_price_fen": 150_000, "justification": "x"})
    assert beyond.status_code == 422 and beyond.json()["type"].endswith("/price-above-special-cap")
    big = await draft_line(budget, editor, quantity=1000, unit_price_fen=60_000)
    assert big["procurement_method"] == "decentralized_procurement"

    defaults = (await budget.client.get(f"{PREFIX}/policies/{tree['school_a1'].id}", headers=editor.headers)).json()
    assert defaults["source_org_id"] is None and defaults["caps"] == {"office": 60_000, "antivirus": 10_000}
    assert defaults["sources"]["caps.office"]["from"] == "default"
    finance = tree.actor("province", "finance")
    put = await put_as_read(budget.client, f"{PREFIX}/policies/{tree['dept_a'].id}", headers=finance.headers, json={
        "caps": {"office": 50_000}, "special_caps": {"office": 80_000}, "decentralized_threshold_fen": 1_000_000})
    assert put.status_code == 200 and put.json()["inherited"] is False
    inherited = (await budget.client.get(f"{PREFIX}/policies/{tree['school_a1'].id}", headers=editor.headers)).json()
    assert (inherited["source_org_id"], inherited["inherited"]) == (str(tree["dept_a"].id), True)
    # Field by field: the office cap is dept_a's, the antivirus cap still the default.
    assert inherited["caps"] == {"office": 50_000, "antivirus": 10_000}
    assert inherited["sources"]["caps.office"]["from"] == str(tree["dept_a"].id)
    now_refused = await budget.client.post(f"{PREFIX}/lines", headers=editor.headers, json={
        "org_id": str(tree["school_a1"].id), "fiscal_year": 2026, "category": "office", "title": "x",
        "quantity": 1, "unit_price_fen": 55_000})
    assert now_refused.status_code == 422
    assert (await budget.client.put(f"{PREFIX}/policies/{tree['dept_a'].id}", headers=editor.headers,
                                    json=put.json() | {"colour": "red"})).status_code == 422  # unknown fields refused
    refused = await put_as_read(budget.client, f"{PREFIX}/policies/{tree['dept_a'].id}", headers=editor.headers, json={
        "caps": {}, "special_caps": {}, "decentralized_threshold_fen": 1})
    assert refused.status_code == 403


async def test_summary_by_org_and_category(budget, tree):
    await approved_line(budget, tree, org="dept_a", quantity=10, unit_price_fen=50_000)
    await approved_line(budget, tree, org="school_a1", quantity=4, unit_price_fen=10_000, category="antivirus",
                        approved_fen=30_000)
    await approved_line(budget, tree, org="dept_b", quantity=1, unit_price_fen=10_000)
    finance = tree.actor("province", "finance")
    resp = await budget.client.get(f"{PREFIX}/summary", params={"org_id": str(tree["dept_a"].id),
                                                                "fiscal_year": 2026}, headers=finance.headers)
    body = resp.json()
    assert [(r["org_name"], r["category"], r["requested_fen"], r["approved_fen"]) for r in body["rows"]] == [
        ("dept_a", "office", 500_000, 500_000), ("school_a1", "antivirus", 40_000, 30_000)]
    assert body["totals"]["approved_fen"] == 530_000 and body["totals"]["execution_rate"] == 0.0
    assert body["totals"]["available_fen"] == 530_000
