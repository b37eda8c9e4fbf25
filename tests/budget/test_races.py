"""Racing commands on one budget line or policy take effect once (SPEC Guarantees): one succeeds,
the others answer 409 problem+json, nothing answers 5xx, and the ledger still explains every figure."""

from __future__ import annotations

import asyncio
import random

import sqlalchemy as sa

from services.budget.policies.models import Policy
from tests.budget.conftest import PREFIX, approved_line, assert_ledger_matches, draft_line, line_now
from tests.support.races import RACERS, ROUNDS, one_winner


async def submitted_line(budget, tree, **kwargs) -> dict:
    editor = tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor, **kwargs)
    resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def decision(budget, tree, line: dict, command: str):
    finance = tree.actor("province", "finance")
    body = {"approve": {"approved_fen": line["requested_fen"] // 2, "note": "同意"}}.get(command,
                                                                                      {"reason": "理由"})
    return budget.client.post(f"{PREFIX}/lines/{line['id']}/{command}", headers=finance.headers, json=body)


async def history_actions(budget, tree, line_id) -> list[str]:
    resp = await budget.client.get(f"{PREFIX}/lines/{line_id}/history", headers=tree.actor("root", "auditor").headers)
    return [h["action"] for h in resp.json()["items"]]


async def test_racing_approvals_of_one_line_fund_it_once(budget, tree):
    for _ in range(ROUNDS):
        line = await submitted_line(budget, tree)
        winner = one_winner(await asyncio.gather(*(decision(budget, tree, line, "approve") for _ in range(RACERS))))
        assert winner.json()["status"] == "approved"
        now = await line_now(budget, tree, line["id"])
        assert (now["approved_fen"], now["available_fen"]) == (line["requested_fen"] // 2,) * 2
        figures = await assert_ledger_matches(budget, line["id"])
        assert figures["approved_fen"] == line["requested_fen"] // 2
        assert (await history_actions(budget, tree, line["id"])).count("approved") == 1


async def test_approve_reject_and_return_racing_leave_one_decision(budget, tree):
    seen = set()
    for _ in range(ROUNDS + 1):
        line = await submitted_line(budget, tree)
        commands = [("approve", "reject", "return")[i % 3] for i in range(RACERS + 1)]
        random.shuffle(commands)
        winner = one_winner(await asyncio.gather(*(decision(budget, tree, line, c) for c in commands)))
        status = winner.json()["status"]
        seen.add(status)
        now = await line_now(budget, tree, line["id"])
        figures = await assert_ledger_matches(budget, line["id"])
        # Rejected or returned lines hold no money; an approved one holds exactly one approval.
        expected = line["requested_fen"] // 2 if status == "approved" else 0
        assert now["status"] == status and figures["approved_fen"] == expected == now["available_fen"]
        decisions = [a for a in await history_actions(budget, tree, line["id"])
                     if a in ("approved", "rejected", "returned")]
        assert decisions == [{"approved": "approved", "rejected": "rejected", "draft": "returned"}[status]]
    assert seen  # at least one outcome per round; which one wins is up to the race


async def test_close_racing_adjustments_never_moves_money_on_a_closed_line(budget, tree):
    finance = tree.actor("province", "finance")
    for _ in range(ROUNDS):
        line = await approved_line(budget, tree)

        def close(line=line):
            return budget.client.post(f"{PREFIX}/lines/{line['id']}/close", headers=finance.headers)

        def adjust(line=line):
            return budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                      json={"delta_fen": -1_000, "reason": "压减"})

        answers = await asyncio.gather(close(), *(adjust() for _ in range(RACERS)), close())
        assert not [a for a in answers if a.status_code >= 500]
        closes = [answers[0], answers[-1]]
        one_winner(closes)
        adjusted = [a for a in answers[1:-1] if a.status_code == 200]
        # An adjustment the close beat is told the line is closed, whichever way it lost.
        assert all(a.status_code == 409 and a.json()["type"].endswith("/line-closed")
                   for a in answers[1:-1] if a.status_code != 200)
        figures = await assert_ledger_matches(budget, line["id"])
        assert figures["adjusted_fen"] == -1_000 * len(adjusted)
        history = await history_actions(budget, tree, line["id"])
        # Every adjustment that took effect came before the close.
        assert history.count("closed") == 1 and "adjusted" not in history[history.index("closed"):]


async def test_racing_edits_and_submit_of_a_draft(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    for _ in range(ROUNDS):
        line = await draft_line(budget, editor, quantity=10, unit_price_fen=50_000)
        submit = budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
        edits = [budget.client.patch(f"{PREFIX}/lines/{line['id']}", headers=editor.headers,
                                     json={"quantity": q}) for q in range(2, 2 + RACERS)]
        answers = await asyncio.gather(submit, *edits)
        assert not [a for a in answers if a.status_code >= 500]
        assert answers[0].status_code == 200
        for lost in [a for a in answers[1:] if a.status_code != 200]:
            assert lost.status_code == 409 and lost.json()["type"].rsplit("/", 1)[1] in ("invalid-status",
                                                                                         "edited-meanwhile")
        now = await line_now(budget, tree, line["id"])
        # Whatever edits won, the figures agree with the fields the line ends with.
        assert now["status"] == "submitted" and now["requested_fen"] == now["quantity"] * now["unit_price_fen"]


async def test_two_first_policies_for_one_org_both_apply_and_one_remains(budget, tree):
    finance = tree.actor("province", "finance")
    for round_ in range(ROUNDS):
        org = tree[("dept_a", "dept_b", "school_a1")[round_]]
        bodies = [{"caps": {"office": 50_000 + i}, "special_caps": {"office": 120_000},
                   "decentralized_threshold_fen": 50_000_000} for i in range(RACERS)]
        # If-Match: * — each PUT replaces whatever is there, on purpose: the race is about the revisions.
        answers = await asyncio.gather(*(budget.client.put(f"{PREFIX}/policies/{org.id}", json=b,
                                                           headers={**finance.headers, "If-Match": "*"})
                                         for b in bodies))
        assert [a.status_code for a in answers] == [200] * RACERS, [a.text for a in answers]
        now = (await budget.client.get(f"{PREFIX}/policies/{org.id}", headers=finance.headers)).json()
        assert now["source_org_id"] == str(org.id) and now["own"] in bodies
        async with budget.db.session() as session:
            rows = (await session.execute(sa.select(sa.func.count()).select_from(Policy)
                                          .where(Policy.org_id == org.id))).scalar()
        assert rows == 1


async def test_year_end_close_racing_reservations_transfers_and_a_second_close(budget, tree):
    """Close vs reserve/approve at once: every order is answered once (reserved then released by the
    close, or refused `line_closed`), a transfer either moved before the close or is refused
    `line-closed`, exactly one close closes the line, and the ledger explains every figure."""
    from services.budget.handlers import on_order_placed
    from tests.budget.conftest import placed
    from tests.budget.test_year_end import answers

    finance, editor = tree.actor("province", "finance"), tree.actor("dept_a", "budget_editor")
    for round_ in range(ROUNDS):
        year = 2030 + round_
        line = await approved_line(budget, tree, quantity=20, unit_price_fen=50_000, fiscal_year=year)  # 1,000,000
        other = await approved_line(budget, tree, category="antivirus", quantity=5, unit_price_fen=8_000,
                                    fiscal_year=year)
        transfer = (await budget.client.post(f"{PREFIX}/transfers", headers=editor.headers, json={
            "from_line_id": line["id"], "to_line_id": other["id"], "amount_fen": 7_000, "reason": "调剂"})).json()
        orders = [placed(line, amount_fen=10_000, fiscal_year=year) for _ in range(RACERS)]

        async def reserve(event):  # as a consumer replica applies it
            async with budget.db.session() as session:
                await on_order_placed(session, event)
                await session.commit()

        def close(year=year):
            return budget.client.post(f"{PREFIX}/fiscal-years/{year}/close", headers=finance.headers,
                                      json={"org_id": str(tree["dept_a"].id)})

        results = await asyncio.gather(close(), *(reserve(o) for o in orders),
                                       budget.client.post(f"{PREFIX}/transfers/{transfer['id']}/approve",
                                                          headers=finance.headers), close())
        closes, moved = [results[0], results[-1]], results[-2]
        assert [c.status_code for c in closes] == [200, 200], [c.text for c in closes]
        reports = [c.json() for c in closes]
        assert sorted(r["totals"]["lines_closed"] for r in reports) == [0, 2]
        assert moved.status_code in (200, 409), moved.text
        if moved.status_code == 409:
            assert moved.json()["type"].endswith("/line-closed"), moved.text

        ids = {o.data["order_id"] for o in orders}
        accepted = {a["data"]["order_id"] for a in await answers(budget, "budget.reservation.accepted")} & ids
        rejected = {a["data"]["order_id"]: a["data"]["reason"]
                    for a in await answers(budget, "budget.reservation.rejected") if a["data"]["order_id"] in ids}
        assert accepted.isdisjoint(rejected) and accepted | set(rejected) == ids
        assert set(rejected.values()) <= {"line_closed"}
        # What was reserved before the close, the close released, and said so.
        released = {o for r in reports for entry in r["lines"] for o in entry["order_ids"]}
        assert released == accepted
        assert sum(r["totals"]["released_reserved_fen"] for r in reports) == 10_000 * len(accepted)
        figures = await assert_ledger_matches(budget, line["id"])
        assert (figures["reserved_fen"], figures["adjusted_fen"]) == (0, -7_000 if moved.status_code == 200 else 0)
        await assert_ledger_matches(budget, other["id"])
        for each in (line, other):
            assert (await line_now(budget, tree, each["id"]))["status"] == "closed"
