"""The budget's guarantees at the edges (issue 27): a transfer above the available money is refused
at once; running totals stop at their bound with 422 (never a 500, never a float); an approval
judges the line as it is when it takes it; a closed fiscal year takes no approvals; and commands
taking the same lines in opposite orders never answer 5xx."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from kernel.bounds import FEN_MAX, RUNNING_TOTAL_MAX
from services.budget.handlers import on_order_placed
from services.budget.lines.models import BudgetLine
from tests.budget.conftest import PREFIX, approved_line, assert_ledger_matches, draft_line, line_now, placed
from tests.budget.test_transfers import decide, request, two_lines
from tests.support.apps import eventually, put_as_read
from tests.support.databases import on_postgres
from tests.support.races import PROBLEM, RACERS, ROUNDS


async def test_a_transfer_above_the_available_money_is_refused_at_once(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    office, antivirus = await two_lines(budget, tree)  # 500_000 and 40_000 fen available
    refused = await request(budget, editor, antivirus, office, 40_001)
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM, refused.text
    assert refused.json()["type"].endswith("/insufficient-funds") and refused.json()["available_fen"] == 40_000
    listed = await budget.client.get(f"{PREFIX}/transfers", headers=editor.headers)
    assert listed.json()["items"] == []
    assert (await request(budget, editor, antivirus, office, 40_000)).status_code == 201


async def test_adjustments_stop_at_the_running_total_bound_with_422(budget, tree):
    finance = tree.actor("province", "finance")
    line = await approved_line(budget, tree)
    step = FEN_MAX  # the largest one adjustment may be
    fits = RUNNING_TOTAL_MAX // step
    for _ in range(fits):
        done = await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                        json={"delta_fen": step, "reason": "追加"})
        assert done.status_code == 200, done.text
    before = await line_now(budget, tree, line["id"])
    refused = await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                       json={"delta_fen": step, "reason": "追加"})
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM, refused.text
    assert refused.json()["type"].endswith("/running-total-out-of-range")
    after = await line_now(budget, tree, line["id"])
    assert after == before and after["adjusted_fen"] == fits * step
    figures = await assert_ledger_matches(budget, line["id"])
    async with budget.db.session() as session:
        stored = (await session.execute(sa.select(BudgetLine.adjusted_fen, BudgetLine.approved_fen).where(
            BudgetLine.id == uuid.UUID(line["id"])))).one()
    # Money stays a whole number on either database (SQLite would have made a float of an overflow).
    assert all(type(v) is int for v in (*stored, *figures.values())), stored


async def test_a_closed_year_takes_no_approvals(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    line = await draft_line(budget, editor)
    assert (await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)).status_code == 200
    closed = await budget.client.post(f"{PREFIX}/fiscal-years/2026/close", headers=finance.headers,
                                      json={"org_id": str(tree["province"].id)})
    assert closed.status_code == 200, closed.text
    refused = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                       json={"approved_fen": line["requested_fen"]})
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM, refused.text
    assert refused.json()["type"].endswith("/year-closed") and refused.json()["fiscal_year"] == 2026
    now = await line_now(budget, tree, line["id"])
    assert (now["status"], now["approved_fen"]) == ("submitted", 0)
    assert (await assert_ledger_matches(budget, line["id"]))["approved_fen"] == 0
    # Another year, or an org outside the closed subtree, still takes approvals.
    other = await draft_line(budget, editor, fiscal_year=2027)
    assert (await budget.client.post(f"{PREFIX}/lines/{other['id']}/submit", headers=editor.headers)).status_code == 200
    assert (await budget.client.post(f"{PREFIX}/lines/{other['id']}/approve", headers=finance.headers,
                                     json={"approved_fen": 1_000})).status_code == 200


pg_only = pytest.mark.skipif(not on_postgres(), reason="SQLite's BEGIN IMMEDIATE runs writers one at a time")


async def waiting_for_a_lock(budget) -> bool:
    async with budget.db.session() as session:
        return bool((await session.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ))).scalar())


@pg_only
async def test_an_approval_judges_the_line_as_it_is_when_it_takes_it(budget, tree):
    """The approval reads the line, then waits for its lock while the line is returned and
    resubmitted — by the approver, and for less: the approval must see that."""
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance", "budget_editor")
    for change, slug, status in (({"requested_fen": 1_000}, "approved-above-requested", 422),
                                 ({"submitted_by": f"user:{finance.subject}"}, "approver-is-submitter", 403)):
        line = await draft_line(budget, editor)
        assert (await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit",
                                         headers=editor.headers)).status_code == 200
        async with budget.db.session() as other:
            await other.execute(sa.select(BudgetLine.id).where(BudgetLine.id == uuid.UUID(line["id"]))
                                .with_for_update())
            approval = asyncio.create_task(budget.client.post(
                f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                json={"approved_fen": line["requested_fen"]}))
            await eventually(lambda: waiting_for_a_lock(budget))
            await other.execute(sa.update(BudgetLine).where(BudgetLine.id == uuid.UUID(line["id"])).values(**change))
            await other.commit()
        answer = await approval
        assert answer.status_code == status and answer.json()["type"].endswith(f"/{slug}"), answer.text
        now = await line_now(budget, tree, line["id"])
        assert (now["status"], now["approved_fen"]) == ("submitted", 0)


@pg_only
async def test_a_close_racing_approvals_leaves_no_line_of_the_year_approved(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    for round_ in range(ROUNDS):
        year = 2030 + round_
        lines = [await draft_line(budget, editor, fiscal_year=year) for _ in range(RACERS)]
        for line in lines:
            assert (await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit",
                                             headers=editor.headers)).status_code == 200
        answers = await asyncio.gather(
            budget.client.post(f"{PREFIX}/fiscal-years/{year}/close", headers=finance.headers,
                               json={"org_id": str(tree["province"].id)}),
            *(budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                 json={"approved_fen": line["requested_fen"]}) for line in lines))
        assert answers[0].status_code == 200, answers[0].text
        for line, answer in zip(lines, answers[1:], strict=True):
            now = await line_now(budget, tree, line["id"])
            if answer.status_code == 200:  # approved before the close: the close closed it
                assert now["status"] == "closed", now
            else:
                assert answer.status_code == 409 and answer.json()["type"].endswith("/year-closed"), answer.text
                assert (now["status"], now["approved_fen"]) == ("submitted", 0)
            await assert_ledger_matches(budget, line["id"])


async def test_a_transfer_approval_racing_reservations_never_overdraws(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    for _ in range(ROUNDS):
        office, antivirus = await two_lines(budget, tree)  # 500_000 and 40_000 fen
        transfer = (await request(budget, editor, office, antivirus, 400_000)).json()
        orders = [placed(office, amount_fen=50_000) for _ in range(RACERS)]

        async def reserve(event) -> None:
            async with budget.db.session() as session:
                await on_order_placed(session, event)
                await session.commit()

        answers = await asyncio.gather(decide(budget, finance, transfer["id"], "approve"),
                                       *(reserve(e) for e in orders))
        approval = answers[0]
        assert approval.status_code in (200, 409), approval.text
        source = await assert_ledger_matches(budget, office["id"])
        target = await assert_ledger_matches(budget, antivirus["id"])
        moved = 400_000 if approval.status_code == 200 else 0
        if approval.status_code == 409:
            assert approval.json()["type"].endswith("/insufficient-funds")
        assert (source["adjusted_fen"], target["adjusted_fen"]) == (-moved, moved)
        # Every order that got money got all of it, and the line never went below zero.
        assert source["reserved_fen"] % 50_000 == 0
        assert 0 <= 500_000 - moved - source["reserved_fen"]


async def test_transfers_between_two_lines_in_both_directions_never_answer_5xx(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    for _ in range(ROUNDS):
        transfers = [(await request(budget, editor, *((office, antivirus) if i % 2 else (antivirus, office)),
                                    1_000)).json() for i in range(RACERS)]
        answers = await asyncio.gather(*(decide(budget, finance, t["id"], "approve") for t in transfers),
                                       *(budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments",
                                                            headers=finance.headers,
                                                            json={"delta_fen": 1_000, "reason": "追加"})
                                         for line in (office, antivirus) for _ in range(RACERS // 2)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    total = sum([(await line_now(budget, tree, line["id"]))["available_fen"] for line in (office, antivirus)])
    assert total == 540_000 + ROUNDS * RACERS * 1_000


async def test_policy_changes_racing_line_submissions(budget, tree):
    """policy PUT × submit: every change and every submission goes through, one policy remains,
    and each line keeps the figures it was priced with."""
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    org = tree["dept_a"]
    body = {"caps": {"office": 60_000}, "special_caps": {"office": 120_000}, "decentralized_threshold_fen": 50_000_000}
    assert (await put_as_read(budget.client, f"{PREFIX}/policies/{org.id}", headers=finance.headers,
                              json=body)).status_code == 200
    for _ in range(ROUNDS):
        lines = [await draft_line(budget, editor) for _ in range(RACERS // 2)]
        answers = await asyncio.gather(
            *(budget.client.put(f"{PREFIX}/policies/{org.id}", json={**body, "caps": {"office": 60_000 + i}},
                                headers={**finance.headers, "If-Match": "*"})  # each overwrites on purpose
              for i in range(RACERS // 2)),
            *(budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers) for line in lines))
        puts, submits = answers[:RACERS // 2], answers[RACERS // 2:]
        assert all(a.status_code == 200 for a in puts), [a.text for a in puts]
        assert all(a.status_code == 200 and a.json()["status"] == "submitted" for a in submits), [
            a.text for a in submits]
        for line in lines:
            now = await line_now(budget, tree, line["id"])
            assert (now["cap_fen"], now["requested_fen"]) == (line["cap_fen"], line["requested_fen"])
        policy = (await budget.client.get(f"{PREFIX}/policies/{org.id}", headers=finance.headers)).json()
        assert policy["own"]["caps"]["office"] in range(60_000, 60_000 + RACERS // 2), policy


async def test_a_transfers_limits_are_its_tables(budget, tree):
    """Bounds from one source: the request, the answer and the table derive from TransferBase."""
    from services.budget.transfers.models import REASON_MAX, BudgetTransfer

    editor = tree.actor("dept_a", "budget_editor")
    office, antivirus = await two_lines(budget, tree)
    too_long = await request(budget, editor, office, antivirus, 1_000, reason="调" * (REASON_MAX + 1))
    assert too_long.status_code == 422 and too_long.json()["type"].endswith("/validation-error"), too_long.text
    kept = await request(budget, editor, office, antivirus, 1_000, reason="调" * REASON_MAX)
    assert kept.status_code == 201 and kept.json()["reason"] == "调" * REASON_MAX
    schemas = (await budget.client.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["TransferCreate"]["properties"]["reason"]["maxLength"] == REASON_MAX
    assert schemas["TransferCreate"]["properties"]["amount_fen"]["maximum"] == FEN_MAX
    assert BudgetTransfer.__table__.c.amount_fen.type.python_type is int
