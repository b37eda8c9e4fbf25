"""A joint purchase from draft to agreement, and the rules on the way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.procurement.working_days import add_working_days
from tests.support.events import published


async def test_from_draft_to_agreement_with_two_rounds_a_panel_and_savings(scenario, nats):
    campaign = await scenario.create()
    assert campaign["status"] == "draft" and len(campaign["items"]) == 2
    awarded = await scenario.to_award()
    assert awarded["status"] == "awarded" and awarded["awarded_supplier_org_id"] == str(scenario.tree["supplier_y"].id)
    office, antivirus = awarded["items"]
    assert (office["aggregated_quantity"], office["unified_price_fen"], office["savings_fen"]) == (150, 52_000,
                                                                                                   150 * 8_000)
    assert (antivirus["aggregated_quantity"], antivirus["unified_price_fen"], antivirus["savings_fen"]) == (
        100, 9_000, 100 * 1_000)
    assert awarded["savings_fen"] == 1_200_000 + 100_000
    agreement = await scenario.call("GET", f"/agreements/{awarded['agreement_id']}", scenario.unit_1)
    assert agreement["status"] == "active" and agreement["supplier_org_id"] == str(scenario.tree["supplier_y"].id)
    assert [(i["unit_price_fen"], i["cap_unit_price_fen"]) for i in agreement["items"]] in (
        [(52_000, 60_000), (9_000, 10_000)], [(9_000, 10_000), (52_000, 60_000)])
    event = (await published(nats.url, "procurement.agreement.awarded", count=1))[0]
    assert event["data"]["agreement_id"] == awarded["agreement_id"]
    submitted = await published(nats.url, "procurement.demand.submitted", count=3)
    assert {e["data"]["amount_fen"] for e in submitted} == {100 * 60_000, 50 * 60_000, 100 * 10_000}
    history = await scenario.call("GET", f"{scenario.path}/history", scenario.lead)
    assert history["next_cursor"] is None
    actions = [h["action"] for h in history["items"]]
    for expected in ("created", "demand_opened", "demand_declared", "demand_accepted", "demand_locked",
                     "offers_opened", "offers_closed", "round_opened", "round_closed", "panel_set", "evaluated",
                     "award_proposed", "awarded"):
        assert expected in actions, expected


async def test_only_participants_declare_and_locked_demand_is_frozen(scenario):
    await scenario.create()
    await scenario.call("POST", f"{scenario.path}/open-demand", scenario.lead)
    body = {"org_id": str(scenario.tree["soe"].id), "item_id": scenario.items[0]["id"], "quantity": 1,
            "budget_line_id": "0190d6a2-0000-7000-8000-000000000001"}
    not_participant = await scenario.call("POST", f"{scenario.path}/demands", scenario.lead, 403, json=body)
    assert not_participant["type"].endswith("/not-a-participant")
    outsider = scenario.tree.actor("dept_a", "procurement")
    await scenario.call("POST", f"{scenario.path}/demands", outsider, 404, json={
        **body, "org_id": str(scenario.tree["dept_a"].id)})
    demand = await scenario.declare("enterprise_1", 0, 10, answer=None)
    pending = await scenario.call("POST", f"{scenario.path}/lock-demand", scenario.lead, 409)
    assert pending["type"].endswith("/demands-pending")
    await scenario.answer_demand(demand, "rejected", reason="insufficient_funds")
    rejected = await scenario.call("GET", f"{scenario.path}/demands/{demand['id']}", scenario.unit_1)
    assert (rejected["status"], rejected["reason"]) == ("rejected", "insufficient_funds")
    await scenario.declare("enterprise_1", 0, 8)
    await scenario.call("POST", f"{scenario.path}/lock-demand", scenario.lead)
    late = await scenario.call("POST", f"{scenario.path}/demands", scenario.unit_2, 409, json={
        **body, "org_id": str(scenario.tree["enterprise_2"].id)})
    assert late["type"].endswith("/invalid-status")
    campaign = await scenario.call("GET", scenario.path, scenario.unit_1)
    assert campaign["items"][0]["aggregated_quantity"] == 8
    mine = await scenario.call("GET", f"{scenario.path}/demands", scenario.unit_2)
    assert mine["items"] == []  # enterprise_2 sees only its own demands (none)


async def test_caps_and_keep_or_lower_in_every_round(scenario):
    await scenario.create()
    await scenario.to_offers()
    above = await scenario.offer(scenario.supplier_x, (60_001, 9_000), expect=422)
    assert above["type"].endswith("/price-above-cap") and "60000" in above["detail"]
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (56_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    closed = await scenario.offer(scenario.supplier_x, (54_000, 9_000), expect=409)
    assert closed["type"].endswith("/offers-closed")
    await scenario.call("POST", f"{scenario.path}/rounds", scenario.lead)
    raised = await scenario.offer(scenario.supplier_x, (55_001, 9_000), expect=422)
    assert raised["type"].endswith("/price-raised")
    await scenario.offer(scenario.supplier_x, (55_000, 8_000))  # keep one, lower the other


async def test_too_few_qualifying_offers_make_it_unsuccessful_and_release_demand(scenario, nats):
    await scenario.create(min_offers=2)
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    ended = await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    assert ended["status"] == "unsuccessful" and "1 qualifying offers" in ended["end_reason"]
    released = await published(nats.url, "procurement.demand.released", count=3)
    assert {e["data"]["budget_line_id"] for e in released} == {str(v) for v in scenario.lines.values()}


async def test_panel_size_membership_and_the_award_rule(scenario):
    await scenario.create()
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (50_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    members = [str(m.subject) for m in scenario.panel]
    even = await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, 422,
                               json={"member_user_ids": members + [str(uuid.uuid4())]})
    assert even["type"].endswith("/invalid-panel")
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, 422, json={"member_user_ids": members[:2]})
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, json={"member_user_ids": members})
    stranger = scenario.tree.actor("soe", "negotiator")
    refused = await scenario.call("POST", f"{scenario.path}/evaluations", stranger, 403, json={
        "supplier_org_id": str(scenario.tree["supplier_x"].id), "score": 90, "recommend": True})
    assert refused["type"].endswith("/not-a-panel-member")
    # Two of three recommend only supplier_x: the cheaper supplier_y lacks a majority.
    for member, recommend_y in zip(scenario.panel, (False, False, True), strict=True):
        for supplier, recommend in (("supplier_x", True), ("supplier_y", recommend_y)):
            await scenario.call("POST", f"{scenario.path}/evaluations", member, 201, json={
                "supplier_org_id": str(scenario.tree[supplier].id), "score": 70, "recommend": recommend})
    wrong = await scenario.call("POST", f"{scenario.path}/award", scenario.lead, 422,
                                json={"supplier_org_id": str(scenario.tree["supplier_y"].id)})
    assert wrong["type"].endswith("/award-rule") and wrong["expected"] == str(scenario.tree["supplier_x"].id)
    awarded = await scenario.call("POST", f"{scenario.path}/award", scenario.lead,
                                  json={"supplier_org_id": str(scenario.tree["supplier_x"].id)})
    assert awarded["status"] == "awarded"


@pytest.mark.parametrize(("start", "days", "end"), [
    ("2026-11-23T10:00:00+08:00", 0, "2026-11-23T10:00:00+08:00"),  # Monday, no standstill
    ("2026-11-23T10:00:00+08:00", 1, "2026-11-25T00:00:00+08:00"),  # ends with Tuesday
    ("2026-11-27T10:00:00+08:00", 1, "2026-12-01T00:00:00+08:00"),  # Friday: the weekend does not count
    ("2026-11-28T10:00:00+08:00", 5, "2026-12-05T00:00:00+08:00"),  # Saturday + 5 working days
    ("2026-11-23T23:30:00+08:00", 1, "2026-11-25T00:00:00+08:00"),  # days are China's days
])
def test_standstill_counts_working_days(start, days, end):
    assert add_working_days(datetime.fromisoformat(start), days) == datetime.fromisoformat(end).astimezone(UTC)


async def test_a_complaint_holds_the_award_until_resolved(scenario, procurement):
    from services.procurement.campaigns.award import finalize_due

    await scenario.create(standstill_days=5)
    proposed = await scenario.to_award()
    assert proposed["status"] == "standstill" and proposed["agreement_id"] is None
    ends = datetime.fromisoformat(proposed["standstill_ends_at"])
    # Shown as the end of its last working day, Beijing time.
    until = datetime.fromisoformat(proposed["standstill_until"])
    assert proposed["standstill_until"].endswith("T23:59:59+08:00") and (ends - until).total_seconds() == 1
    assert await finalize_due(procurement.db, ends.replace(year=ends.year - 1)) == 0  # not yet
    complaint = await scenario.call("POST", f"{scenario.path}/complaints", scenario.supplier_x, 201,
                                    json={"reason": "评审打分不公"})
    assert await finalize_due(procurement.db, ends) == 0  # held by the complaint
    await scenario.call("POST", f"{scenario.path}/complaints/{complaint['id']}/resolve", scenario.lead,
                        json={"upheld": False, "resolution": "经复核，评审程序合规"})
    assert await finalize_due(procurement.db, ends) == 1
    done = await scenario.call("GET", scenario.path, scenario.lead)
    assert done["status"] == "awarded" and done["agreement_id"] and done["standstill_until"] is None


async def test_cancel_releases_every_pre_encumbrance(scenario, nats):
    await scenario.create()
    await scenario.call("POST", f"{scenario.path}/open-demand", scenario.lead)
    await scenario.declare("enterprise_1", 0, 10)
    pending = await scenario.declare("enterprise_2", 0, 5, answer=None)
    cancelled = await scenario.call("POST", f"{scenario.path}/cancel", scenario.lead, json={"reason": "预算调整"})
    assert cancelled["status"] == "cancelled" and cancelled["end_reason"] == "预算调整"
    released = await published(nats.url, "procurement.demand.released", count=2)
    assert pending["id"] in {e["data"]["demand_id"] for e in released}
    again = await scenario.call("POST", f"{scenario.path}/cancel", scenario.lead, 409, json={"reason": "x"})
    assert again["type"].endswith("/invalid-status")


async def test_a_campaign_can_be_declared_unsuccessful_from_any_open_status(scenario, nats):
    await scenario.create()
    await scenario.call("POST", f"{scenario.path}/open-demand", scenario.lead)
    await scenario.declare("enterprise_1", 0, 10)
    ended = await scenario.call("POST", f"{scenario.path}/declare-unsuccessful", scenario.lead,
                                json={"reason": "供应商均未响应"})
    assert ended["status"] == "unsuccessful" and ended["end_reason"] == "供应商均未响应"
    released = await published(nats.url, "procurement.demand.released", count=1)
    assert released[0]["data"]["budget_line_id"] == str(scenario.lines["enterprise_1"])
    again = await scenario.call("POST", f"{scenario.path}/cancel", scenario.lead, 409, json={"reason": "x"})
    assert again["type"].endswith("/invalid-status") and again["status_now"] == "unsuccessful"
    await scenario.create()
    assert (await scenario.call("POST", f"{scenario.path}/declare-unsuccessful", scenario.lead,
                                json={"reason": "取消采购计划"}))["status"] == "unsuccessful"
