"""Whom a caller meets across subtrees in procurement (`GET /parties`): the gateway names those ids
and the caller's own subtree, nobody else (SPEC's visibility table decides who is met where)."""

from __future__ import annotations

import uuid

from tests.procurement.conftest import PREFIX


async def met(scenario, actor, *ids) -> set[str]:
    resp = await scenario.svc.client.get(f"{PREFIX}/parties", headers=actor.headers,
                                         params=[("id", str(i)) for i in ids])
    assert resp.status_code == 200, resp.text
    return {item["id"] for item in resp.json()["items"]}


async def test_each_reader_meets_the_parties_the_campaign_shows_it_and_nobody_else(scenario):
    tree = scenario.tree
    lead_org, unit_1, unit_2 = (str(tree[o].id) for o in ("soe", "enterprise_1", "enterprise_2"))
    x, y = str(tree["supplier_x"].id), str(tree["supplier_y"].id)
    officer, stranger = str(scenario.lead.subject), str(uuid.uuid4())
    asked = (lead_org, unit_1, unit_2, x, y, officer, stranger)
    await scenario.create()
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    # Tendering: a supplier meets the lead and its officer (the status changes' actor), never the
    # units nor its rival; a unit meets its fellow participant but not yet who was invited.
    assert await met(scenario, scenario.supplier_x, *asked) == {lead_org, officer, x}
    assert await met(scenario, scenario.unit_1, *asked) == {lead_org, unit_1, unit_2, officer}
    assert await met(scenario, tree.actor("dept_b", "procurement"), *asked) == set()  # not part of it
    await scenario.offer(scenario.supplier_y, (56_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    assert await met(scenario, scenario.unit_1, *asked) == {lead_org, unit_1, unit_2, officer, x, y}
    panel = [str(m.subject) for m in scenario.panel]
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, json={"member_user_ids": panel})
    assert await met(scenario, scenario.supplier_x, *panel) == set()
    assert await met(scenario, scenario.unit_1, *panel) == set()
    assert await met(scenario, scenario.panel[0], *panel, lead_org, unit_1) == {*panel, lead_org, unit_1}
    await scenario.call("POST", f"{scenario.path}/rounds", scenario.lead)
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    for member in scenario.panel:
        for supplier in (x, y):
            await scenario.call("POST", f"{scenario.path}/evaluations", member, 201, json={
                "supplier_org_id": supplier, "score": 80, "recommend": True})
    await scenario.call("POST", f"{scenario.path}/award", scenario.lead, json={"supplier_org_id": x})
    # After the award every reader meets the winner; the loser still not the units or the panel.
    assert await met(scenario, scenario.supplier_y, *asked, *panel) == {lead_org, officer, x, y}
