"""A list's page costs the same number of queries however many rows it holds (no query per row)."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from tests.procurement.test_orders import agreement


@contextlib.contextmanager
def counted(engine):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_the_campaign_list_does_not_query_per_campaign(scenario):
    await agreement(scenario)
    engine = scenario.svc.db.engine

    async def cost(path: str, limit: int) -> int:
        # The listener hears every statement on the engine, a background loop's too (the standstill
        # sweep, retention): those only ever add, so the fewest of three reads is the read's own cost.
        # A query per row would show in every one of them.
        counts = []
        for _ in range(3):
            with counted(engine) as statements:
                page = await scenario.call("GET", path, scenario.lead, params={"limit": limit})
            assert len(page["items"]) == limit
            counts.append(len(statements))
        return min(counts)

    for _ in range(3):  # more campaigns of the lead's
        await scenario.call("POST", "/campaigns", scenario.lead, 201, json={
            "title": "more", "lead_org_id": str(scenario.tree["soe"].id), "fiscal_year": 2026,
            "participant_org_ids": [str(scenario.tree["enterprise_1"].id)],
            "items": [{"product_id": scenario.products[0]["id"], "cap_unit_price_fen": 60_000}]})
    assert await cost("/campaigns", 1) == await cost("/campaigns", 4)
