"""Until a round closes, nobody but the supplier itself learns its price, or even that it offered."""

from __future__ import annotations

import asyncio
import json
import uuid

import sqlalchemy as sa

from kernel import history, schema
from kernel.db import Database
from kernel.ids import new_id, utcnow
from kernel.migrations import upgrade
from tests.procurement.conftest import PREFIX
from zhengban.processes import app_module

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


def without_times(text: str) -> list[str]:
    return [line for line in text.splitlines() if "publishedDate" not in line]


async def test_nobody_but_the_offering_supplier_reads_a_sealed_offer_admin_included(scenario):
    """SPEC: "anyone, `admin` included: no offer's price or supplier before offers close, but the
    supplier's own". Holding the supplier org in one's subtree is not being it: the root `admin` and
    auditor, and a market org with a supplier under it, read nothing of an offer until the close
    opens it (开标) — and then as what they are to the campaign, never as its supplier."""
    tree = scenario.tree
    tree.add("market", "unit")
    tree.add("supplier_m", "supplier", "market")
    async with scenario.svc.db.session() as session:
        await tree.seed(session)
    await scenario.create()
    await scenario.to_offers(("supplier_x", "supplier_y", "supplier_m"))
    holders = {"root admin": tree.actor("root", "admin"), "root auditor": tree.actor("root", "auditor"),
               "root buyer": tree.actor("root", "procurement", "negotiator"),
               "market admin": tree.actor("market", "admin"), "market supplier": tree.actor("market", "supplier"),
               "lead": scenario.lead, "lead's parent": tree.actor("sasac", "admin", "procurement")}
    before = {name: await everything_visible_to(scenario, actor) for name, actor in holders.items()}
    supplier_m = tree.actor("supplier_m", "supplier")
    await scenario.offer(scenario.supplier_x, (SECRET_X, 9_000))
    await scenario.offer(supplier_m, (SECRET_Y, 9_000))

    for name, actor in holders.items():
        after = await everything_visible_to(scenario, actor)
        assert str(SECRET_X) not in after and str(SECRET_Y) not in after, name
        assert str(SECRET_X / 100) not in after and str(SECRET_Y / 100) not in after, name
        # Not even *that* someone offered: nothing these readers see has changed.
        assert without_times(after) == without_times(before[name]), name
        offers = await scenario.call("GET", f"{scenario.path}/offers", actor)
        assert offers == {"items": [], "next_cursor": None}, name
    own = (await scenario.call("GET", f"{scenario.path}/offers", supplier_m))["items"]
    assert [(o["supplier_org_id"], o["items"][0]["unit_price_fen"]) for o in own] == [
        (str(tree["supplier_m"].id), SECRET_Y)]

    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    opened = {name: (await scenario.call("GET", f"{scenario.path}/offers", actor))["items"]
              for name, actor in holders.items()}
    # At the close the offers open to those who read everything of the campaign; a holder of
    # suppliers that is nothing else to the campaign never reads them.
    for name in ("root admin", "root auditor", "root buyer", "lead", "lead's parent"):
        assert sorted(o["items"][0]["unit_price_fen"] for o in opened[name]) == [SECRET_X, SECRET_Y], name
    assert opened["market admin"] == opened["market supplier"] == []


async def test_the_invitation_in_the_history_names_the_suppliers_as_the_campaign_does(scenario):
    """A participant learns who was invited when the offers close, from the campaign and its history
    alike; during tendering the `offers_opened` entry names nobody to it."""
    await scenario.create()
    await scenario.to_offers()
    suppliers = [str(scenario.tree[s].id) for s in ("supplier_x", "supplier_y")]

    async def invitation(actor) -> tuple[list, list]:
        entries = (await scenario.call("GET", f"{scenario.path}/history", actor))["items"]
        named = [e["data"]["supplier_org_ids"] for e in entries if e["action"] == "offers_opened"]
        return named, (await scenario.call("GET", scenario.path, actor))["supplier_org_ids"]

    assert await invitation(scenario.unit_1) == ([[]], [])
    entries = (await scenario.call("GET", f"{scenario.path}/history", scenario.unit_1))["items"]
    assert not [s for s in suppliers if s in json.dumps(entries)]
    assert await invitation(scenario.lead) == ([suppliers], sorted(suppliers))
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (56_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    named, invited = await invitation(scenario.unit_1)
    assert named == [suppliers] and invited == sorted(suppliers)


async def test_a_history_entry_recorded_without_an_audience_is_the_leads_alone(scenario):
    """History fails closed: whatever the campaign records without saying for whom, no participant,
    panel member or supplier reads."""
    await scenario.create()
    await scenario.to_offers()
    async with scenario.svc.db.session() as session:
        await history.record(session, "campaign", uuid.UUID(scenario.campaign["id"]), "noted", "system",
                             {"secret": "only the lead"})
        await session.commit()
    for actor in (scenario.unit_1, scenario.unit_2, scenario.supplier_x):
        entries = (await scenario.call("GET", f"{scenario.path}/history", actor))["items"]
        assert entries and "noted" not in [e["action"] for e in entries]
    entries = (await scenario.call("GET", f"{scenario.path}/history", scenario.lead))["items"]
    assert [e["data"] for e in entries if e["action"] == "noted"] == [{"secret": "only the lead"}]


async def test_campaign_entries_recorded_for_everyone_before_history_failed_closed_still_read_so(databases):
    """Migration 0007: the entries written without an audience when that meant every reader get the
    explicit `everyone` audience; an entry addressed before keeps its audience."""
    url = await databases.empty("procurement")
    module = app_module("procurement")
    await asyncio.to_thread(upgrade, module.MIGRATIONS, url, "0006")
    campaign, public, addressed, order = new_id(), new_id(), new_id(), new_id()
    db = Database(url)
    try:
        async with db.session() as session:
            for entry_id, object_id in ((public, campaign), (addressed, campaign), (order, new_id())):
                await session.execute(sa.insert(schema.history).values(
                    id=entry_id, object_type="campaign" if object_id == campaign else "order", object_id=object_id,
                    action="noted", actor="system", at=utcnow()))
            await session.execute(sa.insert(schema.history_audience).values(history_id=addressed, token="panel"))
            await session.commit()
        await asyncio.to_thread(upgrade, module.MIGRATIONS, url)
        async with db.session() as session:
            rows = {tuple(r) for r in (await session.execute(sa.select(schema.history_audience))).all()}
            page = await history.history_page(session, campaign, cursor=None, limit=10, readers=set())
        assert rows == {(public, history.EVERYONE_TOKEN), (addressed, "panel")}
        assert [e.id for e in page.items] == [public]
    finally:
        await db.dispose()
