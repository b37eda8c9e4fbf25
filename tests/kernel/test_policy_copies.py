"""Budget's policies reach procurement and licenses over NATS: what a PUT sets there becomes the
effective policy here, without calling budget (issue #20)."""

from __future__ import annotations

from datetime import UTC, datetime

from kernel.contracts import PolicyChanged
from kernel.events import new_event
from services.licenses import policy_copy as licenses_policy_copy
from services.procurement import policy_copy as procurement_policy_copy
from tests.support.apps import eventually, put_as_read


async def test_a_put_in_budget_becomes_the_effective_policy_of_procurement_and_licenses(start_service, tree):
    budget = await start_service("budget")
    procurement = await start_service("procurement")
    licenses = await start_service("licenses")
    finance = tree.actor("root", "finance")
    leaf = tree["school_a1"]
    # Nothing set yet: the defaults, as budget would answer.
    async with procurement.db.session() as session:
        before = await procurement_policy_copy.effective_policy(session, leaf.path)
    assert before.standstill_days == 7 and before.sources["standstill_days"].is_default

    resp = await put_as_read(budget.client, f"/api/v1/budget/policies/{tree['province'].id}",
                             headers=finance.headers, json={
        "standstill_days": 10, "seats_per_device": {"office": 2},
        "thresholds": [{"fiscal_year": 2020, "decentralized_fen": 100_000_000, "public_tender_fen": 200_000_000}]})
    assert resp.status_code == 200, resp.text
    resp = await put_as_read(budget.client, f"/api/v1/budget/policies/{tree['dept_a'].id}", headers=finance.headers,
                             json={"panel_min_members": 5})
    assert resp.status_code == 200, resp.text
    in_budget = (await budget.client.get(f"/api/v1/budget/policies/{leaf.id}", headers=finance.headers)).json()

    for svc, module in ((procurement, procurement_policy_copy), (licenses, licenses_policy_copy)):
        async def arrived(svc=svc, module=module):
            async with svc.db.session() as session:
                policy = await module.effective_policy(session, leaf.path)
            return policy if policy.panel_min_members == 5 and policy.standstill_days == 10 else None

        policy = await eventually(arrived)
        assert policy.seats_per_device("office") == 2 and policy.seats_per_device("os") == 1
        assert policy.thresholds_for(2020).decentralized_fen == 100_000_000
        assert policy.sources["panel_min_members"].origin == str(tree["dept_a"].id)
        assert policy.sources["standstill_days"].origin == str(tree["province"].id)
        # The same resolution as budget's answer, field by field and source by source.
        body = policy.as_json()
        assert {k: v for k, v in body.items()} == {k: in_budget[k] for k in body}


async def test_a_copy_keeps_the_highest_revision_whatever_the_order_and_duplicates(start_service, tree):
    licenses = await start_service("licenses")
    org = tree["dept_a"]

    def change(revision: int, days: int):
        return new_event("budget.policy.changed", PolicyChanged(
            org_id=org.id, org_path=org.path, document={"standstill_days": days}, revision=revision,
            changed_at=datetime.now(UTC)), source="zhengban/budget", about=org.id)

    newer, older = change(2, 9), change(1, 4)
    for event in (newer, older, newer):
        async with licenses.db.session() as session, session.begin():
            await licenses_policy_copy.COPIES.on_policy_changed(session, event)
    async with licenses.db.session() as session:
        policy = await licenses_policy_copy.effective_policy(session, tree["school_a1"].path)
    assert policy.standstill_days == 9 and policy.sources["standstill_days"].origin == str(org.id)
