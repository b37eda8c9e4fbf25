"""The year-end close (`POST /fiscal-years/{fiscal_year}/close`): it closes the approved lines of an
org subtree and year, releases what they still hold, says what it released, and a second close
releases nothing. Events that arrive for a closed line afterwards are answered, never parked."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from kernel.contracts import DemandReleased
from kernel.events import new_event
from kernel.schema import outbox
from services.budget.handlers import (
    on_demand_released,
    on_demand_submitted,
    on_order_cancelled,
    on_order_delivered,
    on_order_placed,
)
from tests.budget.conftest import (
    PREFIX,
    approved_line,
    assert_ledger_matches,
    cancelled,
    delivered,
    demand,
    line_now,
    placed,
)


async def apply(budget, handler, event) -> None:
    """Runs a handler the way the consumer does: one transaction per event."""
    async with budget.db.session() as session:
        await handler(session, event)
        await session.commit()


async def answers(budget, subject: str) -> list[dict]:
    """The events of `subject` the budget wrote to its outbox, oldest first."""
    async with budget.db.session() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).where(outbox.c.subject == subject)
                                      .order_by(outbox.c.seq))).scalars().all()
    return [json.loads(row) for row in rows]


def close(budget, actor, org, fiscal_year=2026):
    return budget.client.post(f"{PREFIX}/fiscal-years/{fiscal_year}/close", headers=actor.headers,
                              json={"org_id": str(org.id)})


async def test_close_releases_what_is_held_says_what_and_a_second_close_releases_nothing(budget, tree):
    finance = tree.actor("province", "finance")
    office = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)  # 500,000
    antivirus = await approved_line(budget, tree, org="school_a1", category="antivirus", quantity=5,
                                    unit_price_fen=8_000)  # 40,000
    other_dept = await approved_line(budget, tree, org="dept_b")
    next_year = await approved_line(budget, tree, fiscal_year=2027)
    held = demand(office, amount_fen=120_000)
    converted = demand(office, amount_fen=60_000)
    order = placed(office, amount_fen=50_000, demand_id=uuid.UUID(converted.data["demand_id"]))
    spent = placed(office, amount_fen=30_000)
    reserved = placed(antivirus, amount_fen=20_000, category="antivirus")
    for handler, event in ((on_demand_submitted, held), (on_demand_submitted, converted), (on_order_placed, order),
                           (on_order_placed, spent), (on_order_placed, reserved),
                           (on_order_delivered, delivered(office, uuid.UUID(spent.data["order_id"]),
                                                          amount_fen=30_000))):
        await apply(budget, handler, event)
    # office: pre-encumbered 120,000 + 10,000 (the converted demand's rest), reserved 50,000, spent 30,000.
    before = await line_now(budget, tree, office["id"])
    assert (before["pre_encumbered_fen"], before["reserved_fen"], before["spent_fen"]) == (130_000, 50_000, 30_000)

    resp = await close(budget, finance, tree["dept_a"])
    assert resp.status_code == 200, resp.text
    report = resp.json()
    by_line = {r["line_id"]: r for r in report["lines"]}
    assert set(by_line) == {office["id"], antivirus["id"]}  # not dept_b's, not 2027's
    assert by_line[office["id"]] | {"demand_ids": sorted(by_line[office["id"]]["demand_ids"])} == {
        "line_id": office["id"], "org_id": office["org_id"], "category": "office", "title": office["title"],
        "closed_now": True, "released_pre_encumbered_fen": 130_000, "released_reserved_fen": 50_000,
        "demand_ids": sorted([held.data["demand_id"], converted.data["demand_id"]]),
        "order_ids": [order.data["order_id"]], "spent_fen": 30_000, "lapsed_fen": 470_000}
    assert (by_line[antivirus["id"]]["released_reserved_fen"], by_line[antivirus["id"]]["order_ids"]) == (
        20_000, [reserved.data["order_id"]])
    assert report["totals"] == {"lines_closed": 2, "lines_already_closed": 0, "released_pre_encumbered_fen": 130_000,
                                "released_reserved_fen": 70_000, "released_fen": 200_000, "lapsed_fen": 510_000}
    assert (report["released_nothing"], report["fiscal_year"], report["closed_by"]) == (
        False, 2026, f"user:{finance.subject}")

    after = await line_now(budget, tree, office["id"])
    assert (after["status"], after["pre_encumbered_fen"], after["reserved_fen"], after["spent_fen"],
            after["available_fen"]) == ("closed", 0, 0, 30_000, 470_000)
    for line in (office, antivirus):
        figures = await assert_ledger_matches(budget, line["id"])
        assert (figures["pre_encumbered_fen"], figures["reserved_fen"]) == (0, 0)
    entries = (await budget.client.get(f"{PREFIX}/lines/{office['id']}/entries", headers=finance.headers)).json()
    releases = sorted((e["kind"], e["amount_fen"], e["reason"]) for e in entries["items"]
                      if e["reason"] == "year-end close of 2026")
    assert releases == [("release", -50_000, "year-end close of 2026"),
                        ("release_preencumbrance", -120_000, "year-end close of 2026"),
                        ("release_preencumbrance", -10_000, "year-end close of 2026")]
    history = (await budget.client.get(f"{PREFIX}/lines/{office['id']}/history", headers=finance.headers)).json()
    closed = [h for h in history["items"] if h["action"] == "closed"]
    assert len(closed) == 1 and closed[0]["data"]["released_reserved_fen"] == 50_000
    for untouched in (other_dept, next_year):
        assert (await line_now(budget, tree, untouched["id"]))["status"] == "approved"

    released = {e["data"]["order_id"]: e["data"] for e in await answers(budget, "budget.reservation.released")}
    assert released[order.data["order_id"]] == {"order_id": order.data["order_id"], "line_id": office["id"],
                                                "org_id": office["org_id"], "amount_fen": 50_000,
                                                "reason": "line_closed"}
    assert reserved.data["order_id"] in released
    line_closed = {e["data"]["line_id"]: e["data"] for e in await answers(budget, "budget.line.closed")}
    assert (line_closed[office["id"]]["released_pre_encumbered_fen"],
            line_closed[office["id"]]["released_reserved_fen"]) == (130_000, 50_000)

    again = await close(budget, finance, tree["dept_a"])
    assert again.status_code == 200, again.text
    assert (again.json()["released_nothing"], again.json()["lines"]) == (True, [])
    assert again.json()["totals"] == {"lines_closed": 0, "lines_already_closed": 2, "released_pre_encumbered_fen": 0,
                                      "released_reserved_fen": 0, "released_fen": 0, "lapsed_fen": 0}
    assert "nothing released" in again.json()["message"]
    assert await assert_ledger_matches(budget, office["id"]) == {
        "approved_fen": 500_000, "adjusted_fen": 0, "pre_encumbered_fen": 0, "reserved_fen": 0, "spent_fen": 30_000}


async def test_events_for_a_closed_line_are_answered_with_a_refusal_not_retried(budget, tree):
    finance = tree.actor("province", "finance")
    line = await approved_line(budget, tree, quantity=10, unit_price_fen=50_000)
    kept = demand(line, amount_fen=100_000)
    order = placed(line, amount_fen=40_000)
    await apply(budget, on_demand_submitted, kept)
    await apply(budget, on_order_placed, order)
    assert (await close(budget, finance, tree["dept_a"])).status_code == 200
    order_id = uuid.UUID(order.data["order_id"])

    # A confirmed order whose reservation the close released is delivered: refused, not parked.
    await apply(budget, on_order_delivered, delivered(line, order_id, amount_fen=40_000))
    # A new demand and a new order on the closed line: refused with the reason.
    late_demand, late_order = demand(line, amount_fen=10_000), placed(line, amount_fen=10_000)
    await apply(budget, on_demand_submitted, late_demand)
    await apply(budget, on_order_placed, late_order)
    # The cancellation and the demand's release of what the close released already change nothing.
    await apply(budget, on_order_cancelled, cancelled(line, order_id, amount_fen=40_000))
    await apply(budget, on_demand_released, new_event("procurement.demand.released", DemandReleased(
        demand_id=kept.data["demand_id"], campaign_id=kept.data["campaign_id"], org_id=line["org_id"],
        budget_line_id=line["id"], reason="campaign cancelled"), source="zhengban/procurement"))

    rejected = {e["data"]["order_id"]: e["data"]["reason"]
                for e in await answers(budget, "budget.reservation.rejected")}
    assert rejected == {str(order_id): "line_closed", late_order.data["order_id"]: "line_closed"}
    pre_rejected = await answers(budget, "budget.preencumbrance.rejected")
    assert [(e["data"]["demand_id"], e["data"]["reason"]) for e in pre_rejected] == [
        (late_demand.data["demand_id"], "line_closed")]
    assert [e["data"]["order_id"] for e in await answers(budget, "budget.reservation.released")] == [str(order_id)]
    assert await answers(budget, "budget.funds.spent") == []
    assert await assert_ledger_matches(budget, line["id"]) == {
        "approved_fen": 500_000, "adjusted_fen": 0, "pre_encumbered_fen": 0, "reserved_fen": 0, "spent_fen": 0}


async def test_a_closed_line_refuses_new_money_with_line_closed(budget, tree):
    finance, editor = tree.actor("province", "finance"), tree.actor("dept_a", "budget_editor")
    line = await approved_line(budget, tree)
    other = await approved_line(budget, tree, category="antivirus", quantity=5, unit_price_fen=8_000)
    pending = await budget.client.post(f"{PREFIX}/transfers", headers=editor.headers, json={
        "from_line_id": other["id"], "to_line_id": line["id"], "amount_fen": 1_000, "reason": "调剂"})
    assert pending.status_code == 201, pending.text
    closed = await budget.client.post(f"{PREFIX}/lines/{line['id']}/close", headers=finance.headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    refusals = [
        await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                 json={"delta_fen": 1_000, "reason": "追加"}),
        await budget.client.post(f"{PREFIX}/transfers", headers=editor.headers, json={
            "from_line_id": other["id"], "to_line_id": line["id"], "amount_fen": 1_000, "reason": "调剂"}),
        await budget.client.post(f"{PREFIX}/transfers/{pending.json()['id']}/approve", headers=finance.headers),
    ]
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["type"].endswith("/line-closed") and body["status_now"] == "closed" and body["title"], body
    assert (await line_now(budget, tree, other["id"]))["available_fen"] == 40_000
    await assert_ledger_matches(budget, line["id"])


async def test_who_may_close_a_year(budget, tree):
    await approved_line(budget, tree)
    for actor, status in ((tree.actor("dept_a", "budget_editor"), 403), (tree.actor("root", "auditor"), 403),
                          (tree.actor("dept_b", "finance"), 404), (tree.actor("supplier_x", "supplier"), 404)):
        resp = await close(budget, actor, tree["dept_a"])
        assert resp.status_code == status, (actor, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    bad_year = await close(budget, tree.actor("province", "finance"), tree["dept_a"], fiscal_year=1900)
    assert bad_year.status_code == 422
    # A finance user of the department closes its own subtree.
    resp = await close(budget, tree.actor("dept_a", "finance"), tree["dept_a"])
    assert resp.status_code == 200 and resp.json()["totals"]["lines_closed"] == 1, resp.text
