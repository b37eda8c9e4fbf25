"""Until a round closes, nobody but the supplier itself learns its price, or even that it offered."""

from __future__ import annotations

import json

from tests.procurement.conftest import PREFIX

SECRET_X, SECRET_Y = 54_321, 57_777


async def everything_visible_to(scenario, actor) -> str:
    """Every read the actor can make about the campaign, concatenated."""
    seen = []
    for path in ("", "/offers", "/demands", "/history", "/ocds", "/complaints"):
        resp = await scenario.svc.client.get(f"{PREFIX}{scenario.path}{path}", headers=actor.headers)
        seen.append(f"{path} {resp.status_code} {resp.text}")
    listing = await scenario.svc.client.get(f"{PREFIX}/campaigns", headers=actor.headers)
    seen.append(listing.text)
    return "\n".join(seen)


async def test_a_sealed_price_does_not_leak_to_the_lead_or_the_other_supplier(scenario):
    await scenario.create()
    await scenario.to_offers()
    lead_before = await everything_visible_to(scenario, scenario.lead)
    y_before = await everything_visible_to(scenario, scenario.supplier_y)
    await scenario.offer(scenario.supplier_x, (SECRET_X, 9_000))

    for actor in (scenario.lead, scenario.supplier_y, scenario.unit_1):
        text = await everything_visible_to(scenario, actor)
        assert str(SECRET_X) not in text and str(SECRET_X / 100) not in text
    # Not even *that* supplier_x offered: what the lead and supplier_y see has not changed at all
    # (apart from the publication time of the OCDS package).
    def without_times(text):
        return "\n".join(line for line in text.splitlines() if "publishedDate" not in line)

    lead_after = await everything_visible_to(scenario, scenario.lead)
    y_after = await everything_visible_to(scenario, scenario.supplier_y)
    assert json.dumps(without_times(lead_after)).count("supplier_x") == json.dumps(without_times(lead_before)).count(
        "supplier_x")
    assert [line for line in without_times(lead_after).splitlines() if not line.startswith("/ocds")] == [
        line for line in without_times(lead_before).splitlines() if not line.startswith("/ocds")]
    assert [line for line in without_times(y_after).splitlines() if not line.startswith("/ocds")] == [
        line for line in without_times(y_before).splitlines() if not line.startswith("/ocds")]
    # supplier_y is not even told who else was invited.
    campaign = await scenario.call("GET", scenario.path, scenario.supplier_y)
    assert campaign["supplier_org_ids"] == [str(scenario.tree["supplier_y"].id)]
    # A price error speaks only of the caller's own offer and the public cap.
    refused = await scenario.offer(scenario.supplier_y, (70_000, 9_000), expect=422)
    assert str(SECRET_X) not in json.dumps(refused)

    own = (await scenario.call("GET", f"{scenario.path}/offers", scenario.supplier_x))["items"]
    assert [o["items"][0]["unit_price_fen"] for o in own] == [SECRET_X]
    assert own[0]["id"] and own[0]["created_at"] == own[0]["updated_at"]

    await scenario.offer(scenario.supplier_y, (SECRET_Y, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    opened = (await scenario.call("GET", f"{scenario.path}/offers", scenario.lead))["items"]
    assert sorted(o["items"][0]["unit_price_fen"] for o in opened) == [SECRET_X, SECRET_Y]
    # Suppliers never see each other's prices, even after the close.
    theirs = (await scenario.call("GET", f"{scenario.path}/offers", scenario.supplier_y))["items"]
    assert [o["supplier_org_id"] for o in theirs] == [str(scenario.tree["supplier_y"].id)]
    ocds = await scenario.call("GET", f"{scenario.path}/ocds", scenario.lead)
    assert ocds["releases"][0]["tender"]["numberOfTenderers"] == 2


async def test_second_round_prices_stay_sealed_until_that_round_closes(scenario):
    await scenario.create()
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (56_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    await scenario.call("POST", f"{scenario.path}/rounds", scenario.lead)
    await scenario.offer(scenario.supplier_x, (51_234, 9_000))
    lead_view = (await scenario.call("GET", f"{scenario.path}/offers", scenario.lead))["items"]
    assert {o["round"] for o in lead_view} == {1} and "51234" not in json.dumps(lead_view)
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    lead_view = (await scenario.call("GET", f"{scenario.path}/offers", scenario.lead))["items"]
    assert any(o["round"] == 2 and o["items"][0]["unit_price_fen"] == 51_234 for o in lead_view)


async def test_uninvited_suppliers_and_strangers_see_nothing(scenario):
    await scenario.create()
    stranger_supplier = scenario.supplier_x  # not invited yet: the campaign is in draft
    await scenario.call("GET", scenario.path, stranger_supplier, 404)
    await scenario.call("GET", scenario.path, scenario.tree.actor("dept_a", "procurement"), 404)
    listing = await scenario.call("GET", "/campaigns", stranger_supplier)
    assert listing["items"] == []
    # A participant unit sees it; a sibling SOE group does not.
    assert (await scenario.call("GET", scenario.path, scenario.unit_1))["id"] == scenario.campaign["id"]
    await scenario.call("GET", scenario.path, scenario.tree.actor("sasac", "procurement"))  # the lead's parent
