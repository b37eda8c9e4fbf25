"""Budget transfers (调剂): requested by a budget editor between two approved lines of one org and
fiscal year, decided by finance (never the requester); only available money moves, and both lines'
ledgers show it."""

from __future__ import annotations

import asyncio
import random

from kernel.ids import new_id
from tests.budget.conftest import PREFIX, approved_line, assert_ledger_matches, line_now
from tests.support.races import RACERS, ROUNDS, one_winner


async def request(budget, actor, source, target, amount_fen, reason="年中调剂"):
    return await budget.client.post(f"{PREFIX}/transfers", headers=actor.headers, json={
        "from_line_id": source["id"], "to_line_id": target["id"], "amount_fen": amount_fen, "reason": reason})


def decide(budget, actor, transfer_id, command):
    body = {"reason": "不同意"} if command == "reject" else None
    return budget.client.post(f"{PREFIX}/transfers/{transfer_id}/{command}", headers=actor.headers, json=body)


async def two_lines(budget, tree, **kwargs):
    return (await approved_line(budget, tree, **kwargs),
            await approved_line(budget, tree, category="antivirus", quantity=5, unit_price_fen=8_000, **kwargs))


async def test_an_approved_transfer_moves_available_money_and_both_ledgers_show_it(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)  # 500_000 and 40_000 fen
    asked = await request(budget, editor, office, antivirus, 100_000)
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    assert (transfer["status"], transfer["amount_fen"], transfer["requested_by"]) == (
        "pending", 100_000, f"user:{editor.subject}")
    # Pending moves nothing.
    assert (await line_now(budget, tree, office["id"]))["available_fen"] == 500_000
    approved = await decide(budget, finance, transfer["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", f"user:{finance.subject}")
    source, target = (await line_now(budget, tree, office["id"]), await line_now(budget, tree, antivirus["id"]))
    assert (source["available_fen"], target["available_fen"]) == (400_000, 140_000)
    for line, amount in ((office, -100_000), (antivirus, 100_000)):
        entries = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries", headers=editor.headers)).json()
        assert [(e["kind"], e["amount_fen"], e["ref_id"]) for e in entries["items"]][-1] == (
            "transfer", amount, transfer["id"])
        await assert_ledger_matches(budget, line["id"])
    read = await budget.client.get(f"{PREFIX}/transfers/{transfer['id']}", headers=editor.headers)
    assert read.json()["status"] == "approved"
    listed = await budget.client.get(f"{PREFIX}/transfers", headers=finance.headers,
                                     params={"org_id": str(tree["dept_a"].id), "status": "approved", "limit": 1})
    assert [t["id"] for t in listed.json()["items"]] == [transfer["id"]]
    again = await decide(budget, finance, transfer["id"], "reject")
    assert again.status_code == 409 and again.json()["type"].endswith("/invalid-status")


async def test_rejected_transfers_move_nothing_and_lists_page(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    ids = [(await request(budget, editor, office, antivirus, 1_000 + i)).json()["id"] for i in range(3)]
    rejected = await decide(budget, finance, ids[0], "reject")
    assert (rejected.json()["status"], rejected.json()["reject_reason"]) == ("rejected", "不同意")
    assert (await line_now(budget, tree, office["id"]))["available_fen"] == 500_000
    seen, cursor = [], None
    while True:
        params = {"org_id": str(tree["dept_a"].id), "status": "pending", "limit": 1,
                  **({"cursor": cursor} if cursor else {})}
        page = (await budget.client.get(f"{PREFIX}/transfers", headers=editor.headers, params=params)).json()
        seen += [t["id"] for t in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids[1:]
    sibling = await budget.client.get(f"{PREFIX}/transfers", headers=tree.actor("dept_b", "finance").headers)
    assert sibling.json()["items"] == []
    hidden = await budget.client.get(f"{PREFIX}/transfers/{ids[0]}", headers=tree.actor("dept_b", "finance").headers)
    assert hidden.status_code == 404


async def test_insufficient_funds_at_approval_is_409_and_nothing_moves(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    transfer = (await request(budget, editor, antivirus, office, 30_000)).json()
    # The money goes elsewhere before finance decides.
    cut = await budget.client.post(f"{PREFIX}/lines/{antivirus['id']}/adjustments", headers=finance.headers,
                                   json={"delta_fen": -20_000, "reason": "压减"})
    assert cut.status_code == 200
    refused = await decide(budget, finance, transfer["id"], "approve")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/insufficient-funds"), refused.text
    assert (await budget.client.get(f"{PREFIX}/transfers/{transfer['id']}", headers=editor.headers)
            ).json()["status"] == "pending"
    assert (await line_now(budget, tree, office["id"]))["available_fen"] == 500_000
    assert (await line_now(budget, tree, antivirus["id"]))["available_fen"] == 20_000
    for line in (office, antivirus):
        figures = await assert_ledger_matches(budget, line["id"])
        assert figures["adjusted_fen"] == (-20_000 if line is antivirus else 0)


async def test_who_may_request_and_decide_and_between_which_lines(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    office, antivirus = await two_lines(budget, tree)
    other_org = await approved_line(budget, tree, org="dept_b")
    across = await request(budget, tree.actor("province", "budget_editor"), office, other_org, 1_000)
    assert across.status_code == 422 and across.json()["type"].endswith("/transfer-across-orgs-or-years")
    same = await request(budget, editor, office, office, 1_000)
    assert same.status_code == 422 and same.json()["type"].endswith("/transfer-same-line")
    assert (await request(budget, tree.actor("dept_a", "finance"), office, antivirus, 1_000)).status_code == 403
    draft = (await budget.client.post(f"{PREFIX}/lines", headers=editor.headers, json={
        "org_id": str(tree["dept_a"].id), "fiscal_year": 2026, "category": "office", "title": "草稿",
        "quantity": 1, "unit_price_fen": 1_000})).json()
    not_approved = await request(budget, editor, office, draft, 1_000)
    assert not_approved.status_code == 409 and not_approved.json()["type"].endswith("/invalid-status")
    both = tree.actor("dept_a", "budget_editor", "finance", subject=new_id())
    own = (await request(budget, both, office, antivirus, 1_000)).json()
    refused = await decide(budget, both, own["id"], "approve")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/approver-is-requester")
    for actor, status in ((editor, 403), (tree.actor("dept_b", "finance"), 404),
                          (tree.actor("province", "auditor"), 403)):
        assert (await decide(budget, actor, own["id"], "approve")).status_code == status
    assert (await line_now(budget, tree, office["id"]))["available_fen"] == 500_000


async def test_approve_and_reject_racing_decide_once(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    moved = 0
    for _ in range(ROUNDS):
        transfer = (await request(budget, editor, office, antivirus, 10_000)).json()
        commands = [("approve", "reject")[i % 2] for i in range(RACERS)]
        random.shuffle(commands)
        winner = one_winner(await asyncio.gather(*(decide(budget, finance, transfer["id"], c) for c in commands)))
        moved += 10_000 if winner.json()["status"] == "approved" else 0
        source = await assert_ledger_matches(budget, office["id"])
        target = await assert_ledger_matches(budget, antivirus["id"])
        assert (source["adjusted_fen"], target["adjusted_fen"]) == (-moved, moved)
        history = (await budget.client.get(f"{PREFIX}/transfers/{transfer['id']}", headers=editor.headers)).json()
        assert history["status"] == winner.json()["status"]


async def test_opposite_transfers_approved_at_once_never_overdraw_or_deadlock(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    for _ in range(ROUNDS):
        transfers = [(await request(budget, editor, *((office, antivirus) if i % 2 else (antivirus, office)),
                                    15_000)).json() for i in range(RACERS)]
        answers = await asyncio.gather(*(decide(budget, finance, t["id"], "approve") for t in transfers))
        assert not [a for a in answers if a.status_code >= 500], [a.text for a in answers]
        assert all(a.status_code == 200 or a.json()["type"].endswith("/insufficient-funds") for a in answers)
        for line in (office, antivirus):
            figures = await assert_ledger_matches(budget, line["id"])
            assert figures["approved_fen"] + figures["adjusted_fen"] >= 0
        total = sum([(await line_now(budget, tree, line["id"]))["available_fen"] for line in (office, antivirus)])
        assert total == 540_000


async def test_transfers_announce_each_change_and_keep_a_history(budget, tree):
    """budget.transfer.requested/approved/rejected go out through the outbox with the change; the
    history says who requested and who decided."""
    from tests.budget.test_year_end import answers

    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    office, antivirus = await two_lines(budget, tree)
    approved = (await request(budget, editor, office, antivirus, 10_000)).json()
    rejected = (await request(budget, editor, antivirus, office, 5_000, reason="退回")).json()
    assert (await decide(budget, finance, approved["id"], "approve")).status_code == 200
    assert (await decide(budget, finance, rejected["id"], "reject")).status_code == 200
    refused = await decide(budget, finance, approved["id"], "reject")  # lost: no event, no history
    assert refused.status_code == 409

    def fields(event):
        data = event["data"]
        return (data["transfer_id"], data["status"], data["amount_fen"], data["reason"])

    assert [fields(e) for e in await answers(budget, "budget.transfer.requested")] == [
        (approved["id"], "requested", 10_000, "年中调剂"), (rejected["id"], "requested", 5_000, "退回")]
    [moved] = await answers(budget, "budget.transfer.approved")
    assert fields(moved) == (approved["id"], "approved", 10_000, "年中调剂")
    assert (moved["type"], moved["subject"], moved["data"]["from_line_id"], moved["data"]["to_line_id"],
            moved["data"]["org_id"], moved["data"]["fiscal_year"]) == (
        "budget.transfer.approved.v1", approved["id"], office["id"], antivirus["id"], office["org_id"], 2026)
    assert [fields(e) for e in await answers(budget, "budget.transfer.rejected")] == [
        (rejected["id"], "rejected", 5_000, "不同意")]

    history = await budget.client.get(f"{PREFIX}/transfers/{approved['id']}/history", headers=editor.headers)
    assert history.status_code == 200, history.text
    assert [(h["action"], h["actor"]) for h in history.json()["items"]] == [
        ("requested", f"user:{editor.subject}"), ("approved", f"user:{finance.subject}")]
    assert history.json()["items"][0]["data"]["amount_fen"] == 10_000
    rejected_history = (await budget.client.get(f"{PREFIX}/transfers/{rejected['id']}/history",
                                                headers=tree.actor("root", "auditor").headers)).json()
    assert [h["action"] for h in rejected_history["items"]] == ["requested", "rejected"]
    assert rejected_history["items"][1]["data"] == {"reason": "不同意"}
    for outsider in (tree.actor("dept_b", "budget_editor"), tree.actor("supplier_x", "supplier")):
        hidden = await budget.client.get(f"{PREFIX}/transfers/{approved['id']}/history", headers=outsider.headers)
        assert hidden.status_code == 404 and hidden.headers["content-type"].startswith("application/problem+json")
