"""Racing commands on one campaign, agreement or order take effect once (SPEC Guarantees): one
succeeds, the others answer 409 problem+json with a stable type, nothing answers 5xx, and the
history and events show each effect exactly once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import sqlalchemy as sa

from services.procurement.agreements.models import AGREEMENT, Agreement
from services.procurement.campaigns.models import Evaluation, Item, Offer
from services.procurement.demands.models import Demand
from tests.procurement.conftest import PREFIX
from tests.procurement.test_orders import order_body, status_of
from tests.support.events import published
from tests.support.races import RACERS, ROUNDS, one_winner


def post(scenario, path: str, actor, body: dict | None = None):
    return scenario.svc.client.post(f"{PREFIX}{path}", headers=actor.headers, json=body)


async def actions(scenario, path: str) -> list[str]:
    return [h["action"] for h in (await scenario.call("GET", f"{path}/history", scenario.lead))["items"]]


async def evaluated(scenario) -> None:
    """A fresh campaign in negotiation, offers closed and the panel's evaluations in: ready to award."""
    await scenario.create()
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (52_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead,
                        json={"member_user_ids": [str(m.subject) for m in scenario.panel]})
    for member in scenario.panel:
        await scenario.call("POST", f"{scenario.path}/evaluations", member, 201, json={
            "supplier_org_id": str(scenario.tree["supplier_y"].id), "score": 90, "recommend": True})


def no_5xx(answers) -> None:
    assert not [a for a in answers if a.status_code >= 500], [a.text for a in answers if a.status_code >= 500]


async def test_cancel_racing_award_ends_the_campaign_one_way(scenario, nats):
    outcomes = Counter()
    for _ in range(ROUNDS):
        await evaluated(scenario)
        award = {"supplier_org_id": str(scenario.tree["supplier_y"].id)}
        commands = [("award", award) if i % 2 else ("cancel", {"reason": "预算调整"}) for i in range(RACERS)]
        random.shuffle(commands)
        answers = await asyncio.gather(*(post(scenario, f"{scenario.path}/{c}", scenario.lead, b) for c, b in commands))
        winner = one_winner(answers).json()
        outcomes[winner["status"]] += 1
        history = await actions(scenario, scenario.path)
        if winner["status"] == "cancelled":
            assert winner["agreement_id"] is None and history.count("cancelled") == 1
            assert "award_proposed" not in history and "awarded" not in history
        else:
            assert winner["status"] == "awarded" and winner["agreement_id"] is not None
            assert history.count("awarded") == 1 and "cancelled" not in history
        async with scenario.svc.db.session() as session:
            agreements = (await session.execute(sa.select(sa.func.count()).select_from(Agreement).where(
                Agreement.campaign_id == uuid.UUID(winner["id"])))).scalar()
        assert agreements == (winner["status"] == "awarded")
    if outcomes["cancelled"]:
        released = await published(nats.url, "procurement.demand.released", count=3 * outcomes["cancelled"],
                                   timeout=10)
        # Each cancelled campaign released its three demands once, never twice.
        assert len({e["data"]["demand_id"] for e in released}) == len(released) == 3 * outcomes["cancelled"]


async def test_close_offers_racing_cancel_closes_at_most_once_and_cancels_once(scenario):
    for _ in range(ROUNDS):
        await scenario.create()
        await scenario.to_offers()
        await scenario.offer(scenario.supplier_x, (55_000, 9_000))
        await scenario.offer(scenario.supplier_y, (52_000, 9_000))
        commands = ["close-offers"] * (RACERS // 2) + ["cancel"] * (RACERS // 2)
        random.shuffle(commands)
        answers = await asyncio.gather(*(post(scenario, f"{scenario.path}/{c}", scenario.lead,
                                              {"reason": "撤销"} if c == "cancel" else None) for c in commands))
        no_5xx(answers)
        by_command = {c: [a for c2, a in zip(commands, answers, strict=True) if c2 == c] for c in set(commands)}
        one_winner(by_command["cancel"])  # cancel is allowed from tendering and from negotiation alike
        closed = [a for a in by_command["close-offers"] if a.status_code == 200]
        assert len(closed) <= 1
        assert all(a.json()["type"].endswith("/invalid-status") for a in by_command["close-offers"]
                   if a.status_code != 200)
        history = await actions(scenario, scenario.path)
        assert history.count("cancelled") == 1 and history.count("offers_closed") == len(closed)
        if closed:
            assert history.index("offers_closed") < history.index("cancelled")
        campaign = await scenario.call("GET", scenario.path, scenario.lead)
        assert campaign["status"] == "cancelled" and campaign["round_open"] is (not closed)


async def test_lock_demand_racing_declared_demands_counts_every_demand_it_lets_in(scenario):
    for _ in range(ROUNDS):
        await scenario.create()
        await scenario.call("POST", f"{scenario.path}/open-demand", scenario.lead)
        await scenario.declare("enterprise_2", 1, 30)  # answered: the lock may go ahead of the racers
        declares = [(unit, item) for unit in ("enterprise_1", "enterprise_2") for item in (0, 1)] * 2
        declares = declares[:RACERS - 1]
        random.shuffle(declares)

        def declare(unit, item):
            actor = scenario.unit_1 if unit == "enterprise_1" else scenario.unit_2
            return post(scenario, f"{scenario.path}/demands", actor, {
                "org_id": str(scenario.tree[unit].id), "item_id": scenario.items[item]["id"], "quantity": 10,
                "budget_line_id": str(scenario.lines[unit])})

        racers = [declare(u, i) for u, i in declares]
        racers.insert(random.randrange(len(racers) + 1), post(scenario, f"{scenario.path}/lock-demand", scenario.lead))
        answers = await asyncio.gather(*racers)
        no_5xx(answers)
        lock = next(a for a in answers if a.request.url.path.endswith("/lock-demand"))
        demands = [a for a in answers if a is not lock]
        assert all(a.status_code in (201, 409) for a in demands), [a.text for a in demands]
        assert {a.json()["type"].rsplit("/", 1)[1] for a in demands if a.status_code == 409} <= {
            "invalid-status", "duplicate-demand"}
        async with scenario.svc.db.session() as session:
            rows = (await session.execute(sa.select(Demand.status, Demand.quantity).where(
                Demand.campaign_id == uuid.UUID(scenario.campaign["id"])))).all()
            locked = dict((await session.execute(sa.select(Item.id, Item.locked_quantity).where(
                Item.campaign_id == uuid.UUID(scenario.campaign["id"])))).all())
        assert len(rows) == 1 + sum(1 for a in demands if a.status_code == 201)
        if lock.status_code == 200:
            # Locked: no demand slipped in after the count, and the count is every accepted one.
            assert all(a.json()["type"].endswith("/invalid-status") for a in demands if a.status_code == 409
                       and "duplicate" not in a.json()["type"]) and not [a for a in demands if a.status_code == 201]
            assert [s for s, _ in rows] == ["accepted"] and sorted(v for v in locked.values()) == [0, 30]
        else:
            assert lock.status_code == 409 and lock.json()["type"].endswith("/demands-pending")
            assert set(locked.values()) == {None}


async def order_under(scenario, deal) -> dict:
    return await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal, quantity=2))


async def test_cancel_racing_deliver_of_a_confirmed_order(scenario, nats):
    await scenario.create()
    awarded = await scenario.to_award()
    deal = await scenario.call("GET", f"/agreements/{awarded['agreement_id']}", scenario.unit_1)
    winners = Counter()
    for _ in range(ROUNDS):
        order = await order_under(scenario, deal)
        await scenario.answer_order(order, "accepted")
        await status_of(scenario, order, "confirmed")
        commands = ["cancel", "deliver"] * (RACERS // 2)
        random.shuffle(commands)
        answers = await asyncio.gather(*(
            post(scenario, f"/orders/{order['id']}/cancel", scenario.unit_1, {"reason": "不再需要"}) if c == "cancel"
            else post(scenario, f"/orders/{order['id']}/deliver", scenario.supplier_y, {}) for c in commands))
        winner = one_winner(answers).json()
        winners[winner["status"]] += 1
        history = [h["action"] for h in (await scenario.call("GET", f"/orders/{order['id']}/history",
                                                             scenario.unit_1))["items"]]
        assert history == ["placed", "confirmed", winner["status"]]
    events = await published(nats.url, "procurement.order.>", count=ROUNDS * 2, timeout=10)
    ends = Counter(e["type"] for e in events if not e["type"].startswith("procurement.order.placed"))
    # One event per order, and it announces what happened to it.
    assert ends == Counter({f"procurement.order.{s}.v1": n for s, n in winners.items()})


async def test_cancel_racing_the_budget_answer_and_itself(scenario):
    await scenario.create()
    awarded = await scenario.to_award()
    deal = await scenario.call("GET", f"/agreements/{awarded['agreement_id']}", scenario.unit_1)
    for _ in range(ROUNDS):
        order = await order_under(scenario, deal)
        cancels = [post(scenario, f"/orders/{order['id']}/cancel", scenario.unit_1, {"reason": "重复下单"})
                   for _ in range(RACERS)]
        answers, _ = await asyncio.gather(asyncio.gather(*cancels), scenario.answer_order(order, "accepted"))
        assert one_winner(answers).json()["status"] == "cancelled"
        await status_of(scenario, order, "cancelled")
        history = [h["action"] for h in (await scenario.call("GET", f"/orders/{order['id']}/history",
                                                             scenario.unit_1))["items"]]
        # The budget's answer counted only if it came first; it never undoes the cancellation.
        assert history in (["placed", "cancelled"], ["placed", "confirmed", "cancelled"])


async def test_suspend_terminate_and_resume_racing_follow_the_agreement_table(scenario):
    """Suspend and resume may each win more than once in turn, so the check is that the winners,
    in the order the history lists them, are a path through the table that ends where the
    agreement is — no lost update, nothing after terminate."""
    await scenario.create()
    awarded = await scenario.to_award()
    agreement_id = awarded["agreement_id"]
    for _ in range(ROUNDS):
        commands = ["suspend", "terminate", "resume"] * 3
        random.shuffle(commands)
        before = await scenario.call("GET", f"/agreements/{agreement_id}", scenario.lead)
        if before["status"] == "terminated":
            break
        answers = await asyncio.gather(*(post(scenario, f"/agreements/{agreement_id}/{c}", scenario.lead)
                                         for c in commands))
        no_5xx(answers)
        for lost in [a for a in answers if a.status_code != 200]:
            assert lost.status_code == 409 and lost.json()["type"].endswith("/invalid-status"), lost.text
        won = Counter(c for c, a in zip(commands, answers, strict=True) if a.status_code == 200)
        assert won["terminate"] == 1  # terminate is allowed from active and suspended: it always lands once
        history = (await scenario.call("GET", f"/agreements/{agreement_id}/history", scenario.lead))["items"]
        steps = [h["action"] for h in history if h["action"] in ("suspended", "resumed", "terminated")]
        status = "active"
        command_of = {"suspended": "suspend", "resumed": "resume", "terminated": "terminate"}
        for step in steps:
            status = AGREEMENT.require(command_of[step], status).target
        after = await scenario.call("GET", f"/agreements/{agreement_id}", scenario.lead)
        assert status == after["status"] == "terminated" and steps[-1] == "terminated"
        assert Counter(command_of[s] for s in steps) == won
        await scenario.create()
        agreement_id = (await scenario.to_award())["agreement_id"]


async def test_orders_racing_a_suspension_are_placed_before_it_or_refused(scenario):
    await scenario.create()
    agreement_id = (await scenario.to_award())["agreement_id"]
    deal = await scenario.call("GET", f"/agreements/{agreement_id}", scenario.unit_1)
    for _ in range(ROUNDS):
        racers = [post(scenario, "/orders", scenario.unit_1, order_body(scenario, deal, quantity=1))
                  for _ in range(RACERS)]
        racers.insert(random.randrange(len(racers) + 1), post(scenario, f"/agreements/{agreement_id}/suspend",
                                                              scenario.lead))
        answers = await asyncio.gather(*racers)
        no_5xx(answers)
        suspend = next(a for a in answers if a.request.url.path.endswith("/suspend"))
        orders = [a for a in answers if a is not suspend]
        assert suspend.status_code == 200, suspend.text
        placed = [a.json() for a in orders if a.status_code == 202]
        assert all(a.json()["type"].endswith("/agreement-not-active") and a.json()["status_now"] == "suspended"
                   for a in orders if a.status_code != 202)
        # Every order that was taken was written before the suspension, none after it.
        history = (await scenario.call("GET", f"/agreements/{agreement_id}/history", scenario.lead))["items"]
        suspended_at = max(h["at"] for h in history if h["action"] == "suspended")
        for order in placed:
            entries = (await scenario.call("GET", f"/orders/{order['id']}/history", scenario.unit_1))["items"]
            assert [h["at"] for h in entries if h["action"] == "placed"][0] < suspended_at
        await scenario.call("POST", f"/agreements/{agreement_id}/resume", scenario.lead)


async def closed_offers(scenario) -> None:
    """A fresh campaign in negotiation: both suppliers offered and the offers have closed."""
    await scenario.create()
    await scenario.to_offers()
    await scenario.offer(scenario.supplier_x, (55_000, 9_000))
    await scenario.offer(scenario.supplier_y, (52_000, 9_000))
    await scenario.call("POST", f"{scenario.path}/close-offers", scenario.lead)


def evaluation(scenario, member, supplier: str, recommend: bool = True):
    return post(scenario, f"{scenario.path}/evaluations", member, {
        "supplier_org_id": str(scenario.tree[supplier].id), "score": 70, "recommend": recommend})


async def stored_evaluations(scenario) -> list[tuple[str, str]]:
    async with scenario.svc.db.session() as session:
        return [(member, str(supplier)) for member, supplier in (await session.execute(
            sa.select(Evaluation.member_user_id, Evaluation.supplier_org_id)
            .where(Evaluation.campaign_id == uuid.UUID(scenario.campaign["id"])))).all()]


async def test_evaluations_racing_a_panel_change_count_only_under_the_panel_that_stands(scenario):
    """Either the panel changes before anyone evaluated (and the member it removed has no score),
    or an evaluation came first and the panel stands (409 panel-evaluating). A member removed while
    its evaluation waited loses with 409 panel-changed (403 if it asked after the change)."""
    outcomes = Counter()
    for _ in range(ROUNDS):
        await closed_offers(scenario)
        members = [scenario.tree.actor("soe", "negotiator") for _ in range(4)]
        await scenario.call("POST", f"{scenario.path}/panel", scenario.lead,
                            json={"member_user_ids": [str(m.subject) for m in members[:3]]})
        removed, staying = members[0], members[1:3]
        racers = [evaluation(scenario, m, s) for m in (removed, *staying) for s in ("supplier_x", "supplier_y")]
        racers.append(evaluation(scenario, removed, "supplier_x"))
        change = post(scenario, f"{scenario.path}/panel", scenario.lead,
                      {"member_user_ids": [str(m.subject) for m in members[1:]]})
        racers.insert(random.randrange(len(racers) + 1), change)
        answers = await asyncio.gather(*racers)
        no_5xx(answers)
        changed = next(a for a in answers if a.request.url.path.endswith("/panel"))
        evaluations = [a for a in answers if a is not changed]
        by_removed = [a for a in evaluations if a.request.headers["authorization"] == removed.headers["Authorization"]]
        stored = await stored_evaluations(scenario)
        assert len(stored) == sum(a.status_code == 201 for a in evaluations)
        campaign = await scenario.call("GET", scenario.path, scenario.lead)
        if changed.status_code == 200:
            outcomes["panel changed"] += 1
            assert sorted(campaign["panel_member_user_ids"]) == sorted(str(m.subject) for m in members[1:])
            assert str(removed.subject) not in {member for member, _ in stored}
            assert all(a.status_code in (403, 409) for a in by_removed), [a.text for a in by_removed]
            assert {a.json()["type"].rsplit("/", 1)[1] for a in by_removed} <= {"panel-changed", "not-a-panel-member"}
        else:
            outcomes["panel stood"] += 1
            assert changed.status_code == 409 and changed.json()["type"].endswith("/panel-evaluating"), changed.text
            assert sorted(campaign["panel_member_user_ids"]) == sorted(str(m.subject) for m in members[:3]) and stored
        for lost in [a for a in evaluations if a.status_code == 409]:
            assert lost.json()["type"].rsplit("/", 1)[1] in ("panel-changed", "already-evaluated"), lost.text
    assert sum(outcomes.values()) == ROUNDS


async def test_evaluations_racing_the_award_count_only_if_they_came_first(scenario):
    for _ in range(ROUNDS):
        await closed_offers(scenario)
        await scenario.call("POST", f"{scenario.path}/panel", scenario.lead,
                            json={"member_user_ids": [str(m.subject) for m in scenario.panel]})
        for member in scenario.panel[:2]:  # a majority recommends supplier_y already
            await scenario.call("POST", f"{scenario.path}/evaluations", member, 201, json={
                "supplier_org_id": str(scenario.tree["supplier_y"].id), "score": 90, "recommend": True})
        last = scenario.panel[2]
        award = {"supplier_org_id": str(scenario.tree["supplier_y"].id)}
        racers = [post(scenario, f"{scenario.path}/award", scenario.lead, award) for _ in range(RACERS // 2)]
        racers += [evaluation(scenario, last, s) for s in ("supplier_x", "supplier_y") for _ in range(RACERS // 4)]
        random.shuffle(racers)
        answers = await asyncio.gather(*racers)
        awards = [a for a in answers if a.request.url.path.endswith("/award")]
        evaluations = [a for a in answers if a not in awards]
        assert one_winner(awards).json()["status"] == "awarded"
        no_5xx(evaluations)
        late = [a for a in evaluations if a.status_code == 409]
        assert all(a.json()["type"].rsplit("/", 1)[1] in ("invalid-status", "already-evaluated") for a in late)
        assert len(await stored_evaluations(scenario)) == 2 + sum(a.status_code == 201 for a in evaluations)
        # An evaluation that counted was recorded before the award; none after it.
        history = await actions(scenario, scenario.path)
        assert history.count("award_proposed") == 1
        assert "evaluated" not in history[history.index("award_proposed"):]


async def test_offers_racing_close_offers_are_in_the_round_or_refused(scenario):
    """An offer sent while the round closes is in it (sent first) or refused 409 offers-closed; the
    close counts exactly the offers that were taken."""
    for _ in range(ROUNDS):
        await scenario.create()
        await scenario.to_offers()
        suppliers = {str(scenario.tree[s].id): a for s, a in (("supplier_x", scenario.supplier_x),
                                                              ("supplier_y", scenario.supplier_y))}
        sent = [(supplier, 50_000 + n) for n, supplier in enumerate(list(suppliers) * (RACERS // 2))]
        racers = [post(scenario, f"{scenario.path}/offers", suppliers[supplier], {"items": [
            {"item_id": scenario.items[0]["id"], "unit_price_fen": price},
            {"item_id": scenario.items[1]["id"], "unit_price_fen": 9_000}]}) for supplier, price in sent]
        racers.insert(random.randrange(len(racers) + 1),
                      post(scenario, f"{scenario.path}/close-offers", scenario.lead))
        answers = await asyncio.gather(*racers)
        no_5xx(answers)
        close = next(a for a in answers if a.request.url.path.endswith("/close-offers"))
        assert close.status_code == 200, close.text
        offers = [a for a in answers if a is not close]
        for refused in [a for a in offers if a.status_code != 201]:
            assert refused.status_code == 409 and refused.json()["type"].endswith("/offers-closed"), refused.text
        taken = {a.json()["supplier_org_id"]: set() for a in offers if a.status_code == 201}
        for answer in offers:
            if answer.status_code == 201:
                taken[answer.json()["supplier_org_id"]].add(answer.json()["items"][0]["unit_price_fen"])
        async with scenario.svc.db.session() as session:
            stored = {str(s): p for s, p in (await session.execute(
                sa.select(Offer.supplier_org_id, Offer.unit_price_fen).where(
                    Offer.campaign_id == uuid.UUID(scenario.campaign["id"]),
                    Offer.item_id == uuid.UUID(scenario.items[0]["id"])))).all()}
        assert set(stored) == set(taken) and all(stored[s] in taken[s] for s in stored)
        assert close.json()["status"] == ("negotiation" if len(taken) == 2 else "unsuccessful")
        if len(taken) == 2:
            seen = (await scenario.call("GET", f"{scenario.path}/offers", scenario.lead))["items"]
            assert {o["supplier_org_id"]: o["items"][0]["unit_price_fen"] for o in seen} == stored


async def test_orders_racing_a_termination_are_placed_before_it_or_refused(scenario):
    for _ in range(ROUNDS):
        await scenario.create()
        agreement_id = (await scenario.to_award())["agreement_id"]
        deal = await scenario.call("GET", f"/agreements/{agreement_id}", scenario.unit_1)
        racers = [post(scenario, "/orders", scenario.unit_1, order_body(scenario, deal, quantity=1))
                  for _ in range(RACERS)]
        racers.insert(random.randrange(len(racers) + 1), post(scenario, f"/agreements/{agreement_id}/terminate",
                                                              scenario.lead))
        answers = await asyncio.gather(*racers)
        no_5xx(answers)
        terminate = next(a for a in answers if a.request.url.path.endswith("/terminate"))
        orders = [a for a in answers if a is not terminate]
        assert terminate.status_code == 200 and terminate.json()["status"] == "terminated", terminate.text
        placed = [a.json() for a in orders if a.status_code == 202]
        for refused in [a for a in orders if a.status_code != 202]:
            body = refused.json()
            assert refused.status_code == 409 and body["type"].endswith("/agreement-not-active"), refused.text
            assert body["status_now"] == "terminated"
        history = (await scenario.call("GET", f"/agreements/{agreement_id}/history", scenario.lead))["items"]
        terminated_at = [h["at"] for h in history if h["action"] == "terminated"]
        assert len(terminated_at) == 1
        listed = (await scenario.call("GET", "/orders", scenario.lead, params={"limit": 200}))["items"]
        under = [o for o in listed if o["agreement_id"] == agreement_id]
        assert sorted(o["id"] for o in under) == sorted(o["id"] for o in placed)
        for order in placed:
            entries = (await scenario.call("GET", f"/orders/{order['id']}/history", scenario.unit_1))["items"]
            assert [h["at"] for h in entries if h["action"] == "placed"][0] < terminated_at[0]
