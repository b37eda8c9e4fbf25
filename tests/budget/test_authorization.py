"""Who may decide on a line: finance over its org, never the submitter; auditors only read."""

from __future__ import annotations

from kernel.ids import new_id
from tests.budget.conftest import PREFIX, draft_line


async def submitted_line(budget, tree, editor=None):
    editor = editor or tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor)
    assert (await budget.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)).status_code == 200
    return line


async def test_finance_of_a_parent_approves(budget, tree):
    line = await submitted_line(budget, tree)
    resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve",
                                    headers=tree.actor("province", "finance").headers, json={"approved_fen": 1000})
    assert resp.status_code == 200 and resp.json()["status"] == "approved"


async def test_the_submitter_cannot_approve_even_holding_finance(budget, tree):
    subject = new_id()
    both = tree.actor("dept_a", "budget_editor", "finance", subject=subject)
    line = await submitted_line(budget, tree, editor=both)
    resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=both.headers,
                                    json={"approved_fen": 1000})
    assert resp.status_code == 403
    assert resp.json()["type"] == "https://zhengban.dev/problems/approver-is-submitter"
    assert resp.json()["detail"] == "the approver cannot be the submitter"


async def test_editors_siblings_children_and_auditors_cannot_decide(budget, tree):
    line = await submitted_line(budget, tree)
    cases = [(tree.actor("dept_a", "budget_editor"), 403), (tree.actor("dept_b", "finance"), 404),
             (tree.actor("school_a1", "finance"), 404), (tree.actor("province", "auditor"), 403),
             (tree.actor("supplier_x", "supplier"), 404)]
    for actor, status in cases:
        for action, body in (("approve", {"approved_fen": 1}), ("reject", {"reason": "x"}),
                             ("return", {"reason": "x"})):
            resp = await budget.client.post(f"{PREFIX}/lines/{line['id']}/{action}", headers=actor.headers, json=body)
            assert resp.status_code == status, (actor.org.name, actor.roles, action, resp.text)
    # Nothing changed, and the auditor can read all of it.
    auditor = tree.actor("province", "auditor")
    after = (await budget.client.get(f"{PREFIX}/lines/{line['id']}", headers=auditor.headers)).json()
    assert after["status"] == "submitted"
    for path in ("entries", "history"):
        read = await budget.client.get(f"{PREFIX}/lines/{line['id']}/{path}", headers=auditor.headers)
        assert read.status_code == 200
    listed = (await budget.client.get(f"{PREFIX}/lines", headers=tree.actor("dept_b", "finance").headers)).json()
    assert listed["items"] == []
    create = await budget.client.post(f"{PREFIX}/lines", headers=auditor.headers, json={
        "org_id": str(tree["dept_a"].id), "fiscal_year": 2026, "category": "os", "title": "x", "quantity": 1,
        "unit_price_fen": 1})
    assert create.status_code == 403
