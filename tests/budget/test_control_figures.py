"""二上二下: finance sets a control figure on a submitted line (一下), the unit resubmits within it
(二上), finance approves (二下); a line without a control figure keeps the short path."""

from __future__ import annotations

import asyncio

from kernel.ids import new_id
from tests.budget.conftest import PREFIX, assert_ledger_matches, draft_line, line_now
from tests.support.races import RACERS, ROUNDS, one_winner


async def submitted(budget, editor, **kwargs) -> dict:
    line = await draft_line(budget, editor, **kwargs)
    resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def control(budget, actor, line_id, control_fen, note=None):
    body = {"control_fen": control_fen, **({"note": note} if note else {})}
    return budget.client.post(f"{PREFIX}/lines/{line_id}/control", headers=actor.headers, json=body)


async def test_two_up_two_down_control_resubmit_within_it_and_approve(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    line = await submitted(budget, editor, quantity=10, unit_price_fen=50_000)
    assert line["control_fen"] is None
    down = await control(budget, finance, line["id"], 300_000, note="控制数：30万分")
    assert down.status_code == 200, down.text
    body = down.json()
    assert (body["status"], body["control_fen"], body["submitted_by"]) == ("draft", 300_000, None)
    # 二上 above the control figure is refused, and the line stays a draft.
    above = await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    assert above.status_code == 422, above.text
    problem = above.json()
    assert problem["type"].endswith("/above-control-figure")
    assert (problem["control_fen"], problem["requested_fen"]) == (300_000, 500_000)
    assert (await line_now(budget, tree, line["id"]))["status"] == "draft"
    edited = await budget.client.patch(f"{PREFIX}/lines/{line['id']}", headers=editor.headers, json={"quantity": 6})
    assert edited.json()["requested_fen"] == 300_000 and edited.json()["control_fen"] == 300_000
    up = await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)
    assert up.status_code == 200 and up.json()["status"] == "submitted", up.text
    approved = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                        json={"approved_fen": 300_000})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["available_fen"]) == ("approved", 300_000)
    await assert_ledger_matches(budget, line["id"])
    history = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/history",
                                       headers=editor.headers)).json()["items"]
    assert [h["action"] for h in history] == ["created", "submitted", "controlled", "edited", "submitted", "approved"]
    assert history[2]["data"] == {"control_fen": 300_000, "note": "控制数：30万分"}
    assert history[2]["actor"] == f"user:{finance.subject}"


async def test_the_submitter_editors_and_siblings_cannot_set_a_control_figure(budget, tree):
    both = tree.actor("dept_a", "budget_editor", "finance", subject=new_id())
    line = await submitted(budget, both)
    refused = await control(budget, both, line["id"], 1_000)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/approver-is-submitter")
    for actor, status in ((tree.actor("dept_a", "budget_editor"), 403), (tree.actor("dept_b", "finance"), 404),
                          (tree.actor("province", "auditor"), 403)):
        resp = await control(budget, actor, line["id"], 1_000)
        assert resp.status_code == status, (actor.roles, resp.text)
    now = await line_now(budget, tree, line["id"])
    assert (now["status"], now["control_fen"]) == ("submitted", None)


async def test_a_control_figure_only_on_a_submitted_line(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    line = await draft_line(budget, editor)
    resp = await control(budget, finance, line["id"], 1_000)
    assert resp.status_code == 409 and resp.json()["type"].endswith("/invalid-status")
    assert resp.json()["status_now"] == "draft"
    zero = await control(budget, finance, line["id"], 0)
    assert zero.status_code == 422


async def test_control_and_approvals_racing_leave_one_decision(budget, tree):
    editor, finance = tree.actor("dept_a", "budget_editor"), tree.actor("province", "finance")
    seen = set()
    for _ in range(ROUNDS):
        line = await submitted(budget, editor, quantity=10, unit_price_fen=50_000)
        calls = [control(budget, finance, line["id"], 200_000) if i % 2 else
                 budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                    json={"approved_fen": 400_000}) for i in range(RACERS)]
        winner = one_winner(await asyncio.gather(*calls)).json()
        seen.add(winner["status"])
        now = await line_now(budget, tree, line["id"])
        figures = await assert_ledger_matches(budget, line["id"])
        if now["status"] == "approved":
            assert (now["control_fen"], figures["approved_fen"]) == (None, 400_000)
        else:
            assert (now["status"], now["control_fen"], figures["approved_fen"]) == ("draft", 200_000, 0)
        history = (await budget.client.get(f"{PREFIX}/lines/{line['id']}/history",
                                           headers=editor.headers)).json()["items"]
        assert len([h for h in history if h["action"] in ("approved", "controlled")]) == 1
    assert seen <= {"approved", "draft"}
