"""The notices' procurement rules as the lead org's policy (issue #20): the panel's composition
(财政部令第74号), the standstill's default (政府采购法 Art. 52), and the reason an award by negotiation
needs once the demand at the cap reaches the public-tender threshold; each with its default and with
a policy that overrides it in a subtree."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from kernel.contracts import PolicyChanged
from kernel.events import new_event
from services.procurement import policy_copy
from services.procurement.campaigns.models import Evaluation
from tests.support.apps import eventually
from tests.support.events import publish


def campaign_body(scenario, lead: str = "soe", **changes) -> dict:
    """The scenario's campaign as another one, for `lead`, without the fields `changes` sets to None."""
    office, antivirus = scenario.products
    body = {"title": "联合采购", "lead_org_id": str(scenario.tree[lead].id), "fiscal_year": 2026,
            "participant_org_ids": [str(scenario.tree["enterprise_1"].id), str(scenario.tree["enterprise_2"].id)],
            "items": [{"product_id": office["id"], "cap_unit_price_fen": 60_000},
                      {"product_id": antivirus["id"], "cap_unit_price_fen": 10_000}], "min_offers": 2}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def to_panel(scenario) -> None:
    """Two rounds of offers, both closed: the campaign waits for its panel."""
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (58_000, 9_500))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    await scenario.call("POST", f"{scenario.path}/rounds", scenario.lead)
    await scenario.offer(scenario.supplier_y, (52_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)


async def panel_recommends_both(scenario, members, representatives=()) -> None:
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, json={
        "member_user_ids": [str(m.subject) for m in members],
        "buyer_representative_user_ids": [str(m.subject) for m in representatives]})
    for member in members:
        for supplier in ("supplier_x", "supplier_y"):
            await scenario.call("POST", f"{scenario.path}/evaluations", member, 201, json={
                "supplier_org_id": str(scenario.tree[supplier].id), "score": 80, "recommend": True})


async def set_policy(scenario, org: str, document: dict, revision: int = 1) -> None:
    """Publishes budget's change of an org's own policy and waits for this service's copy of it."""
    ref = scenario.tree[org]
    await publish(scenario.nats_url, new_event("budget.policy.changed", PolicyChanged(
        org_id=ref.id, org_path=ref.path, document=document, revision=revision, changed_at=datetime.now(UTC)),
        source="zhengban/budget", about=ref.id))

    async def copied():
        table = policy_copy.policy_copies
        async with scenario.svc.db.session() as session:
            copy = (await session.execute(sa.select(table.c.revision).where(table.c.org_id == ref.id))).scalar()
        return copy is not None and copy >= revision

    await eventually(copied)



def named_users(names) -> list[str]:
    """Users' ids for one-letter names, sorting as their names do (panels are lists of user ids)."""
    return [str(uuid.UUID(int=ord(name))) for name in names]

async def test_a_panel_is_three_or_more_an_odd_number_and_two_thirds_experts(scenario):
    await scenario.create()

    async def panel(members, representatives=(), expect=422):
        return await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, expect, json={
            "member_user_ids": named_users(members), "buyer_representative_user_ids": named_users(representatives)})

    assert (await panel(["a", "b"]))["type"].endswith("/invalid-panel")
    assert (await panel(["a", "b", "c", "d"]))["type"].endswith("/invalid-panel")
    assert (await panel(["a", "b", "c"], ["z"]))["type"].endswith("/representative-not-a-member")
    too_many = await panel(["a", "b", "c"], ["a", "b"])
    assert too_many["type"].endswith("/too-many-buyer-representatives") and too_many["max_buyer_share"] == "1/3"
    assert (await panel(["a", "b", "c", "d", "e"], ["a", "b"]))["type"].endswith("/too-many-buyer-representatives")
    named = await panel(["c", "b", "a"], ["b"], expect=200)
    assert named["panel_member_user_ids"] == named_users("abc")
    assert named["panel_buyer_representative_user_ids"] == named_users("b")
    experts_only = await panel(["a", "b", "c", "d", "e"], expect=200)
    assert experts_only["panel_buyer_representative_user_ids"] == []
    history = (await scenario.call("GET", f"{scenario.path}/history", scenario.lead))["items"]
    assert [h["data"] for h in history if h["action"] == "panel_set"] == [
        {"members": named_users("cba"), "buyer_representatives": named_users("b")},
        {"members": named_users("abcde"), "buyer_representatives": []}]


async def test_standstill_defaults_to_the_lead_orgs_seven_working_days(scenario):
    await scenario.create()
    omitted = await scenario.call("POST", "/campaigns", scenario.lead, 201,
                                  json=campaign_body(scenario, standstill_days=None))
    assert omitted["standstill_days"] == 7
    assert (await scenario.call("POST", "/campaigns", scenario.lead, 201,
                                json=campaign_body(scenario, standstill_days=0)))["standstill_days"] == 0
    created = (await scenario.call("GET", f"/campaigns/{omitted['id']}/history", scenario.lead))["items"][0]
    assert created["action"] == "created" and created["data"]["standstill_days"] == 7


async def test_an_award_at_the_public_tender_threshold_needs_a_negotiation_reason(scenario):
    # 150 office seats at a cap of 1,500,000 fen and 100 antivirus at 500,000: 275,000,000 fen at the
    # cap, above the default public-tender threshold of 200,000,000 fen (2,000,000 元). The group's
    # policy lets it cap that high (98号's defaults would not).
    await set_policy(scenario, "soe", {"caps": {"office": 1_500_000, "antivirus": 500_000}})
    await scenario.create(caps=(1_500_000, 500_000))
    await to_panel(scenario)
    await panel_recommends_both(scenario, scenario.panel)
    award = {"supplier_org_id": str(scenario.tree["supplier_y"].id)}
    refused = await scenario.call("POST", f"{scenario.path}/award", scenario.lead, 422, json=award)
    assert refused["type"].endswith("/negotiation-reason-required")
    assert refused["demand_at_cap_fen"] == 275_000_000 and refused["public_tender_threshold_fen"] == 200_000_000
    reason = "单一来源以外仅两家国产办公软件供应商可满足信创适配要求"
    awarded = await scenario.call("POST", f"{scenario.path}/award", scenario.lead,
                                  json={**award, "negotiation_reason": reason})
    assert awarded["status"] == "awarded" and awarded["negotiation_reason"] == reason
    history = (await scenario.call("GET", f"{scenario.path}/history", scenario.lead))["items"]
    assert [h["data"]["negotiation_reason"] for h in history if h["action"] == "award_proposed"] == [reason]
    package = await scenario.call("GET", f"{scenario.path}/ocds", scenario.unit_1)
    assert package["releases"][0]["tender"]["procurementMethodRationale"] == reason


async def test_below_the_threshold_an_award_needs_no_reason(scenario):
    await scenario.create()  # 10,000,000 fen at the cap
    awarded = await scenario.to_award()
    assert awarded["status"] == "awarded" and awarded["negotiation_reason"] is None
    package = await scenario.call("GET", f"{scenario.path}/ocds", scenario.lead)
    assert "procurementMethodRationale" not in package["releases"][0]["tender"]


async def test_a_policy_overrides_the_rules_in_its_subtree_only(scenario):
    await scenario.create()
    await set_policy(scenario, "soe", {
        "standstill_days": 3, "panel_min_members": 5, "panel_max_buyer_share": "2/5",
        "thresholds": [{"fiscal_year": 2026, "decentralized_fen": 1_000_000, "public_tender_fen": 5_000_000}]})
    # The SOE group's campaigns: 3 working days, panels of five or more, two of them may be the buyer's.
    ours = await scenario.call("POST", "/campaigns", scenario.lead, 201,
                               json=campaign_body(scenario, standstill_days=None))
    assert ours["standstill_days"] == 3
    refused = await scenario.call("POST", f"/campaigns/{ours['id']}/panel", scenario.lead, 422,
                                  json={"member_user_ids": named_users("abc")})
    assert refused["type"].endswith("/invalid-panel") and refused["min_members"] == 5
    await scenario.call("POST", f"/campaigns/{ours['id']}/panel", scenario.lead,
                        json={"member_user_ids": named_users("abcde"),
                              "buyer_representative_user_ids": named_users("ab")})
    # Its 2026 public-tender threshold is 5,000,000 fen: the scenario's 10,000,000 at the cap reaches it.
    panel = [scenario.tree.actor("soe", "negotiator") for _ in range(5)]
    await to_panel(scenario)
    await panel_recommends_both(scenario, panel, panel[:2])
    award = {"supplier_org_id": str(scenario.tree["supplier_y"].id)}
    refused = await scenario.call("POST", f"{scenario.path}/award", scenario.lead, 422, json=award)
    assert refused["type"].endswith("/negotiation-reason-required")
    assert refused["public_tender_threshold_fen"] == 5_000_000
    await scenario.call("POST", f"{scenario.path}/award", scenario.lead, json={**award, "negotiation_reason": "急需"})
    # Outside the subtree the defaults hold.
    elsewhere = scenario.tree.actor("dept_a", "procurement")
    theirs = await scenario.call("POST", "/campaigns", elsewhere, 201,
                                 json=campaign_body(scenario, lead="dept_a", standstill_days=None))
    assert theirs["standstill_days"] == 7
    named = await scenario.call("POST", f"/campaigns/{theirs['id']}/panel", elsewhere,
                                json={"member_user_ids": named_users("abc"),
                                      "buyer_representative_user_ids": named_users("a")})
    assert named["panel_member_user_ids"] == named_users("abc")


async def test_an_items_cap_stays_within_the_lead_orgs_policy_cap(scenario):
    """98号 binds the purchase, not only the budget line: an item may be capped up to the lead org's
    cap for its category — its special-need cap where the policy has one (office: 1,400 元 by
    default) — and no higher (422, nothing created)."""
    await scenario.create()  # makes the products
    office, antivirus = scenario.products

    def body(office_cap: int, antivirus_cap: int = 10_000, lead: str = "soe") -> dict:
        return campaign_body(scenario, lead, items=[
            {"product_id": office["id"], "cap_unit_price_fen": office_cap},
            {"product_id": antivirus["id"], "cap_unit_price_fen": antivirus_cap}])

    async def listed() -> int:
        return len((await scenario.call("GET", "/campaigns", scenario.lead))["items"])

    before = await listed()
    refused = await scenario.call("POST", "/campaigns", scenario.lead, 422, json=body(140_001))
    assert refused["type"].endswith("/cap-above-policy") and refused["policy_cap_fen"] == 140_000
    assert refused["product_id"] == office["id"]
    refused = await scenario.call("POST", "/campaigns", scenario.lead, 422, json=body(60_000, 10_001))
    assert refused["product_id"] == antivirus["id"] and refused["policy_cap_fen"] == 10_000  # no special need
    assert await listed() == before
    assert (await scenario.call("POST", "/campaigns", scenario.lead, 201, json=body(140_000)))["status"] == "draft"
    # A policy in the lead's subtree binds its campaigns only: the group lowers its caps, a sibling
    # tree keeps the notice's.
    await set_policy(scenario, "soe", {"caps": {"office": 50_000}, "special_caps": {"office": 70_000}})
    refused = await scenario.call("POST", "/campaigns", scenario.lead, 422, json=body(70_001))
    assert refused["policy_cap_fen"] == 70_000
    await scenario.call("POST", "/campaigns", scenario.lead, 201, json=body(70_000))
    centre = scenario.tree.actor("province", "procurement")
    await scenario.call("POST", "/campaigns", centre, 201, json=body(140_000, lead="province"))


async def test_the_award_counts_only_the_current_panels_recommendations(scenario):
    """Evaluations whose member no longer sits on the panel (left by the race the campaign's lock now
    closes) are no votes: here two of them would make the cheaper supplier_y the rule's winner."""
    await scenario.create()
    await to_panel(scenario)  # supplier_y's final prices are the lower ones
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead,
                        json={"member_user_ids": [str(m.subject) for m in scenario.panel]})
    x, y = (str(scenario.tree[s].id) for s in ("supplier_x", "supplier_y"))
    for member, supplier, recommend in ((0, y, True), (0, x, True), (1, x, True), (2, x, True), (1, y, False),
                                        (2, y, False)):
        await scenario.call("POST", f"{scenario.path}/evaluations", scenario.panel[member], 201, json={
            "supplier_org_id": supplier, "score": 70, "recommend": recommend})
    async with scenario.svc.db.session() as session:
        session.add_all([Evaluation(campaign_id=uuid.UUID(scenario.campaign["id"]), member_user_id=str(uuid.uuid4()),
                                    supplier_org_id=uuid.UUID(y), score=99, recommend=True) for _ in range(2)])
        await session.commit()
    awarded = await scenario.call("POST", f"{scenario.path}/award", scenario.lead, json={"supplier_org_id": x})
    assert awarded["status"] == "awarded" and awarded["awarded_supplier_org_id"] == x
