"""The notices' rules as policy data (issue #20): each rule, its default, and a subtree's override."""

from __future__ import annotations

import json

import sqlalchemy as sa

from kernel.schema import outbox
from tests.budget.conftest import PREFIX, draft_line
from tests.support.apps import put_as_read


async def post_line(budget, editor, **fields):
    body = {"org_id": str(editor.org.id), "fiscal_year": 2026, "category": "office", "title": "正版化",
            "quantity": 1, "unit_price_fen": 10_000, **fields}
    return await budget.client.post(f"{PREFIX}/lines", headers=editor.headers, json=body)


async def get_policy(budget, tree, org):
    resp = await budget.client.get(f"{PREFIX}/policies/{tree[org].id}", headers=tree.actor("root", "auditor").headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def put_policy(budget, tree, org, body, *, by="province"):
    resp = await put_as_read(budget.client, f"{PREFIX}/policies/{tree[org].id}",
                             headers=tree.actor(by, "finance").headers, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_the_defaults_and_their_notices(budget, tree):
    policy = await get_policy(budget, tree, "school_a1")
    assert (policy["inherited"], policy["source_org_id"], policy["own"]) == (True, None, None)
    assert policy["caps"] == {"office": 60_000, "antivirus": 10_000}
    assert policy["special_caps"] == {"office": 140_000}
    assert policy["edition_caps"] == {"antivirus.client": 10_000, "antivirus.server": 140_000}
    assert policy["os_needs_justification"] is True
    assert policy["seats_per_device"] == {"os": 1, "office": 1, "antivirus": 1}
    assert (policy["decentralized_threshold_fen"], policy["public_tender_threshold_fen"]) == (60_000_000, 200_000_000)
    assert policy["thresholds"] == []
    assert policy["standstill_days"] == 7
    assert (policy["panel_min_members"], policy["panel_odd_members"], policy["panel_max_buyer_share"]) == (3, True,
                                                                                                         "1/3")
    sources = policy["sources"]
    assert all(s["from"] == "default" and s["notice"] for s in sources.values())
    assert sources["caps.office"]["notice"] == "财行〔2013〕98号"
    assert sources["edition_caps.antivirus.client"]["notice"] == "财行〔2013〕98号"
    assert "Art. 52" in sources["standstill_days"]["notice"]
    assert sources["panel_max_buyer_share"]["notice"].startswith("财政部令第74号")


async def test_an_antivirus_client_above_its_cap_is_refused_whatever_the_justification(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    refused = await post_line(budget, editor, category="antivirus", edition="client", unit_price_fen=140_000,
                              justification="服务器也用")
    assert refused.status_code == 422 and refused.json()["type"].endswith("/price-above-special-cap")
    # A line without an edition is held to the client's cap.
    no_edition = await post_line(budget, editor, category="antivirus", unit_price_fen=10_001, justification="x")
    assert no_edition.status_code == 422 and no_edition.json()["cap_fen"] == 10_000
    client = await draft_line(budget, editor, category="antivirus", edition="client", quantity=1,
                              unit_price_fen=10_000)
    assert (client["edition"], client["cap_fen"], client["special_need"]) == ("client", 10_000, False)


async def test_an_antivirus_server_has_its_own_cap(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    server = await draft_line(budget, editor, category="antivirus", edition="server", quantity=1,
                              unit_price_fen=140_000)
    assert (server["edition"], server["cap_fen"], server["special_need"]) == ("server", 140_000, False)
    above = await post_line(budget, editor, category="antivirus", edition="server", unit_price_fen=140_001,
                            justification="x")
    assert above.status_code == 422 and above.json()["type"].endswith("/price-above-special-cap")


async def test_an_os_line_needs_a_justification_unless_the_jurisdiction_says_otherwise(budget, tree):
    editor = tree.actor("school_a1", "budget_editor")
    refused = await post_line(budget, editor, category="os", unit_price_fen=50_000)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/os-needs-justification")
    justified = await draft_line(budget, editor, category="os", quantity=1, unit_price_fen=50_000,
                                 justification="服务器操作系统，随机未预装")
    assert justified["category"] == "os"
    await put_policy(budget, tree, "dept_a", {"os_needs_justification": False})
    assert (await post_line(budget, editor, category="os", unit_price_fen=50_000)).status_code == 201
    # Elsewhere the default still holds.
    other = await post_line(budget, tree.actor("dept_b", "budget_editor"), category="os", unit_price_fen=50_000)
    assert other.status_code == 422


async def test_procurement_method_by_the_thresholds_of_the_lines_year(budget, tree):
    editor = tree.actor("school_a1", "budget_editor")

    async def method(fiscal_year, amount_fen):
        resp = await post_line(budget, editor, category="database", fiscal_year=fiscal_year, quantity=amount_fen // 100,
                               unit_price_fen=100)
        assert resp.status_code == 201, resp.text
        return resp.json()["procurement_method"]

    assert await method(2026, 59_999_900) == "below_threshold"
    assert await method(2026, 60_000_000) == "decentralized_procurement"
    assert await method(2026, 200_000_000) == "public_tender"
    # The national 2020 figures, set by the province for 2020 only.
    await put_policy(budget, tree, "province", {"thresholds": [
        {"fiscal_year": 2020, "decentralized_fen": 100_000_000, "public_tender_fen": 200_000_000}]})
    assert await method(2020, 80_000_000) == "below_threshold"
    assert await method(2020, 100_000_000) == "decentralized_procurement"
    assert await method(2026, 80_000_000) == "decentralized_procurement"
    policy = await get_policy(budget, tree, "school_a1")
    assert policy["thresholds"] == [{"fiscal_year": 2020, "decentralized_fen": 100_000_000,
                                     "public_tender_fen": 200_000_000}]
    assert policy["sources"]["thresholds.2020"]["from"] == str(tree["province"].id)


async def test_a_subtree_overrides_field_by_field_and_a_put_replaces_the_own_document(budget, tree):
    await put_policy(budget, tree, "province", {"standstill_days": 10, "caps": {"office": 50_000}})
    await put_policy(budget, tree, "dept_a", {"seats_per_device": {"office": 2}, "panel_min_members": 5,
                                              "panel_max_buyer_share": "1/5"})
    school = await get_policy(budget, tree, "school_a1")
    assert (school["inherited"], school["source_org_id"]) == (True, str(tree["dept_a"].id))
    assert (school["standstill_days"], school["caps"]["office"], school["caps"]["antivirus"]) == (10, 50_000, 10_000)
    assert school["seats_per_device"] == {"os": 1, "office": 2, "antivirus": 1}
    assert (school["panel_min_members"], school["panel_max_buyer_share"]) == (5, "1/5")
    sources = school["sources"]
    assert sources["standstill_days"]["from"] == sources["caps.office"]["from"] == str(tree["province"].id)
    assert sources["seats_per_device.office"]["from"] == str(tree["dept_a"].id)
    assert sources["caps.antivirus"]["from"] == sources["seats_per_device.os"]["from"] == "default"
    # A sibling subtree sees the province's fields only.
    dept_b = await get_policy(budget, tree, "dept_b")
    assert (dept_b["seats_per_device"]["office"], dept_b["panel_min_members"], dept_b["standstill_days"]) == (1, 3, 10)
    # A PUT replaces dept_a's document: what it no longer sets is inherited again.
    replaced = await put_policy(budget, tree, "dept_a", {"standstill_days": 3})
    assert replaced["own"] == {"standstill_days": 3} and replaced["inherited"] is False
    school = await get_policy(budget, tree, "school_a1")
    assert (school["standstill_days"], school["seats_per_device"]["office"], school["panel_min_members"]) == (3, 1, 3)


async def test_a_put_publishes_the_own_document_through_the_outbox(budget, tree):
    await put_policy(budget, tree, "dept_a", {"standstill_days": 5})
    await put_policy(budget, tree, "dept_a", {"standstill_days": 6})
    async with budget.db.session() as session:
        payloads = (await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.subject.like("%budget.policy.changed%")).order_by(outbox.c.seq))).scalars().all()
    events = [json.loads(p) for p in payloads]
    assert [e["type"] for e in events] == ["budget.policy.changed.v1"] * 2
    assert [(e["data"]["org_id"], e["data"]["org_path"], e["data"]["document"], e["data"]["revision"])
            for e in events] == [(str(tree["dept_a"].id), tree["dept_a"].path, {"standstill_days": 5}, 1),
                                 (str(tree["dept_a"].id), tree["dept_a"].path, {"standstill_days": 6}, 2)]


async def test_nonsense_policies_are_refused(budget, tree):
    finance = tree.actor("province", "finance")
    for body in ({"panel_max_buyer_share": "3/2"}, {"panel_max_buyer_share": "a"},
                 {"edition_caps": {"antivirus.mobile": 1}}, {"standstill_days": -1}, {"seats_per_device": {"os": 0}},
                 {"thresholds": [{"fiscal_year": 2026, "decentralized_fen": 2, "public_tender_fen": 1}]},
                 {"thresholds": [{"fiscal_year": 2026, "decentralized_fen": 1, "public_tender_fen": 2}] * 2},
                 {"caps": {"games": 1}}, {"unknown": 1}):
        resp = await budget.client.put(f"{PREFIX}/policies/{tree['dept_a'].id}", headers=finance.headers, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
