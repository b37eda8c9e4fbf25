"""The budget's part of the order flow over real NATS: every answer, every refusal, and each
effect once however often and in whatever order the events come."""

from __future__ import annotations

import uuid

from kernel.events import new_event
from tests.budget.conftest import (
    PREFIX,
    approved_line,
    assert_ledger_matches,
    cancelled,
    delivered,
    demand,
    draft_line,
    line_now,
    placed,
)
from tests.support.apps import eventually
from tests.support.events import publish, published


async def test_demand_pre_encumbers_and_its_release_gives_it_back(budget, tree, nats):
    line = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    event = demand(line, amount_fen=120_000)
    await publish(nats.url, event)
    answer = (await published(nats.url, "budget.preencumbrance.>", count=1))[0]
    assert answer["type"] == "budget.preencumbrance.accepted.v1" and answer["causationid"] == str(event.id)
    assert answer["data"]["demand_id"] == event.data["demand_id"] and answer["data"]["reason"] is None
    figures = await assert_ledger_matches(budget, line["id"])
    assert figures["pre_encumbered_fen"] == 120_000
    assert (await line_now(budget, tree, line["id"]))["available_fen"] == 380_000
    from kernel.contracts import DemandReleased
    released = new_event("procurement.demand.released", DemandReleased(
        demand_id=event.data["demand_id"], campaign_id=event.data["campaign_id"], org_id=line["org_id"],
        budget_line_id=line["id"], reason="campaign cancelled"), source="zhengban/procurement")
    await publish(nats.url, released, released)

    async def freed():
        return (await line_now(budget, tree, line["id"]))["pre_encumbered_fen"] == 0

    await eventually(freed)
    assert (await assert_ledger_matches(budget, line["id"]))["pre_encumbered_fen"] == 0


async def test_every_refusal_has_its_reason(budget, tree, nats):
    line = await approved_line(budget, tree, quantity=1, unit_price_fen=50_000)
    draft = await draft_line(budget, tree.actor("dept_a", "budget_editor"))
    events = [
        demand(line, amount_fen=60_000),  # more than the 50,000 available
        demand(draft),  # not approved
        demand(line, amount_fen=10_000, category="os"),
        demand(line, amount_fen=10_000, org_id=str(tree["dept_b"].id)),
        demand({"id": str(uuid.uuid4()), "org_id": line["org_id"]}),
    ]
    await publish(nats.url, *events)
    answers = await published(nats.url, "budget.preencumbrance.rejected", count=5)
    reasons = {a["data"]["demand_id"]: a["data"]["reason"] for a in answers}
    assert [reasons[e.data["demand_id"]] for e in events] == [
        "insufficient_funds", "line_not_approved", "category_mismatch", "wrong_org", "unknown_line"]
    assert (await assert_ledger_matches(budget, line["id"]))["pre_encumbered_fen"] == 0
    order = placed(line, amount_fen=70_000)
    await publish(nats.url, order)
    rejected = (await published(nats.url, "budget.reservation.rejected", count=1))[0]
    assert rejected["data"]["reason"] == "insufficient_funds"


async def test_money_of_the_right_year_and_kind_only(budget, tree, nats):
    """SPEC Budget: a demand or an order draws only on an approved line of the campaign's fiscal year
    and of the product's category; any other line is refused with a reason and nothing is held."""
    last_year = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000, fiscal_year=2025)
    office = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    refused = [demand(last_year, fiscal_year=2026), demand(office, category="antivirus"),
               demand(office, fiscal_year=2027)]
    await publish(nats.url, *refused)
    answers = await published(nats.url, "budget.preencumbrance.rejected", count=3)
    reasons = {a["data"]["demand_id"]: a["data"]["reason"] for a in answers}
    assert [reasons[e.data["demand_id"]] for e in refused] == [
        "fiscal_year_mismatch", "category_mismatch", "fiscal_year_mismatch"]
    orders = [placed(last_year, fiscal_year=2026), placed(office, category="os")]
    await publish(nats.url, *orders)
    answers = await published(nats.url, "budget.reservation.rejected", count=2)
    reasons = {a["data"]["order_id"]: a["data"]["reason"] for a in answers}
    assert [reasons[e.data["order_id"]] for e in orders] == ["fiscal_year_mismatch", "category_mismatch"]
    for line in (last_year, office):
        figures = await assert_ledger_matches(budget, line["id"])
        assert figures["pre_encumbered_fen"] == figures["reserved_fen"] == 0
        entries = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries",
                                           headers=tree.actor("root", "auditor").headers)).json()
        assert [e["kind"] for e in entries["items"]] == ["approve"]
    # The same demand on the right line draws on it.
    fitting = demand(last_year, fiscal_year=2025)
    await publish(nats.url, fitting)
    accepted = (await published(nats.url, "budget.preencumbrance.accepted", count=1))[0]
    assert accepted["data"]["demand_id"] == fitting.data["demand_id"]


async def test_version_1_events_still_in_flight_are_read(budget, tree, nats):
    """Events published before the upgrade carry no fiscal year: the rest of the rules still hold."""
    line = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    old = [demand(line, amount_fen=100_000, version=1), demand(line, category="os", version=1)]
    assert [e.type for e in old] == ["procurement.demand.submitted.v1"] * 2
    await publish(nats.url, *old)
    accepted = (await published(nats.url, "budget.preencumbrance.accepted", count=1))[0]
    rejected = (await published(nats.url, "budget.preencumbrance.rejected", count=1))[0]
    assert accepted["data"]["demand_id"] == old[0].data["demand_id"]
    assert (rejected["data"]["demand_id"], rejected["data"]["reason"]) == (old[1].data["demand_id"],
                                                                          "category_mismatch")
    order = placed(line, amount_fen=50_000, version=1)
    await publish(nats.url, order)
    reserved = (await published(nats.url, "budget.reservation.accepted", count=1))[0]
    assert reserved["data"]["order_id"] == order.data["order_id"]
    figures = await assert_ledger_matches(budget, line["id"])
    assert (figures["pre_encumbered_fen"], figures["reserved_fen"]) == (100_000, 50_000)


async def test_order_reserves_from_its_demand_then_is_spent_or_released(budget, tree, nats):
    line = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    declared = demand(line, amount_fen=120_000)
    await publish(nats.url, declared)
    await published(nats.url, "budget.preencumbrance.accepted", count=1)
    # The unified price came out lower than the cap: the order takes 100,000 of the 120,000 held.
    kept = placed(line, amount_fen=100_000, demand_id=uuid.UUID(declared.data["demand_id"]))
    dropped = placed(line, amount_fen=50_000)
    await publish(nats.url, kept, dropped)
    accepted = await published(nats.url, "budget.reservation.accepted", count=2)
    assert {a["data"]["order_id"] for a in accepted} == {kept.data["order_id"], dropped.data["order_id"]}
    figures = await assert_ledger_matches(budget, line["id"])
    assert (figures["pre_encumbered_fen"], figures["reserved_fen"]) == (20_000, 150_000)

    await publish(nats.url, delivered(line, uuid.UUID(kept.data["order_id"]), amount_fen=100_000),
                  cancelled(line, uuid.UUID(dropped.data["order_id"]), amount_fen=50_000))
    spent = (await published(nats.url, "budget.funds.spent", count=1))[0]
    assert spent["data"]["amount_fen"] == 100_000
    released = (await published(nats.url, "budget.reservation.released", count=1))[0]
    assert released["data"] == {"order_id": dropped.data["order_id"], "line_id": line["id"],
                                "org_id": line["org_id"], "amount_fen": 50_000, "reason": None}
    figures = await assert_ledger_matches(budget, line["id"])
    assert (figures["reserved_fen"], figures["spent_fen"], figures["pre_encumbered_fen"]) == (0, 100_000, 20_000)
    after = await line_now(budget, tree, line["id"])
    assert after["available_fen"] == 500_000 - 100_000 - 20_000


async def test_every_event_twice_and_out_of_order_changes_each_thing_once(budget, tree, nats):
    line = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    declared = demand(line, amount_fen=100_000)
    order = placed(line, amount_fen=80_000, demand_id=uuid.UUID(declared.data["demand_id"]))
    late = placed(line, amount_fen=30_000)
    order_id, late_id = uuid.UUID(order.data["order_id"]), uuid.UUID(late.data["order_id"])

    def copy(event):  # the same fact in a new event (a producer that published twice)
        return event.model_copy(update={"id": uuid.uuid4()})

    # The late order's cancellation overtakes its placement; every event also comes twice (a copy
    # under a new id, or the same id again). Placement and cancellation have consumers of their own,
    # so the placement is published only once the cancellation has been handled: published() waits
    # for every consumer to be idle. Otherwise the placement may win and this is the in-order case.
    cancel = cancelled(line, late_id, amount_fen=30_000)
    await publish(nats.url, declared, copy(declared), order, order, copy(order), cancel, copy(cancel))
    await published(nats.url, "budget.reservation.accepted", count=1)
    await publish(nats.url, late, copy(late))
    # Still the one answer, the first order's: the late placement found its cancellation and
    # reserved nothing (and answers nothing, so this waits for the consumers to be idle again).
    [answer] = await published(nats.url, "budget.reservation.>", count=1)
    assert (answer["type"], answer["data"]["order_id"]) == ("budget.reservation.accepted.v1", str(order_id))
    deliver = delivered(line, order_id, amount_fen=80_000)
    await publish(nats.url, deliver, copy(deliver), deliver)
    await published(nats.url, "budget.funds.spent", count=1)

    async def settled():
        async with budget.db.session() as session:
            from sqlalchemy import func, select

            from kernel.schema import inbox
            return (await session.execute(select(func.count()).select_from(inbox).where(
                inbox.c.consumer.like("budget--procurement-%")))).scalar() >= 10  # 12 sent, 2 same-id repeats

    await eventually(settled)
    entries = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries",
                                       headers=tree.actor("province", "finance").headers)).json()["items"]
    main = sorted((e["kind"], e["amount_fen"]) for e in entries if e["ref_id"] != str(late_id))
    assert main == sorted([("approve", 500_000), ("preencumber", 100_000), ("release_preencumbrance", -80_000),
                           ("reserve", 80_000), ("release", -80_000), ("spend", 80_000)])
    # The late order's cancellation released nothing, once, and its placement then reserved nothing.
    late_entries = [(e["kind"], e["amount_fen"]) for e in entries if e["ref_id"] == str(late_id)]
    assert late_entries == [("release", 0)]
    figures = await assert_ledger_matches(budget, line["id"])
    assert figures == {"approved_fen": 500_000, "adjusted_fen": 0, "pre_encumbered_fen": 20_000, "reserved_fen": 0,
                       "spent_fen": 80_000}
