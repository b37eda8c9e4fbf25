"""The budget service in-process with real NATS, and a way to get an approved line quickly."""

from __future__ import annotations

import uuid

import pytest

from kernel.contracts import (
    DemandSubmitted,
    DemandSubmittedV2,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderPlacedV2,
)
from kernel.events import new_event
from services.budget.lines.ledger import ledger_totals

PREFIX = "/api/v1/budget"


@pytest.fixture
async def budget(start_service):
    return await start_service("budget")


async def draft_line(svc, editor, *, org=None, quantity=10, unit_price_fen=50_000, category="office", **extra) -> dict:
    body = {"org_id": str((org or editor.org).id), "fiscal_year": 2026, "category": category,
            "title": "办公软件正版化", "quantity": quantity, "unit_price_fen": unit_price_fen, **extra}
    resp = await svc.client.post(f"{PREFIX}/lines", json=body, headers=editor.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def approved_line(svc, tree, *, org="dept_a", approved_fen=None, **kwargs) -> dict:
    editor = tree.actor(org, "budget_editor")
    line = await draft_line(svc, editor, **kwargs)
    assert (await svc.client.post(f"{PREFIX}/lines/{line['id']}/submit", headers=editor.headers)).status_code == 200
    finance = tree.actor("province", "finance")
    resp = await svc.client.post(f"{PREFIX}/lines/{line['id']}/approve", headers=finance.headers,
                                 json={"approved_fen": approved_fen or line["requested_fen"]})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def line_now(svc, tree, line_id) -> dict:
    resp = await svc.client.get(f"{PREFIX}/lines/{line_id}", headers=tree.actor("root", "auditor").headers)
    return resp.json()


async def assert_ledger_matches(svc, line_id) -> dict:
    """The line's figures equal the sums of its ledger."""
    async with svc.db.session() as session:
        totals = await ledger_totals(session, uuid.UUID(str(line_id)))
    async with svc.db.session() as session:
        from services.budget.lines.models import BudgetLine
        line = await session.get(BudgetLine, uuid.UUID(str(line_id)))
        figures = {k: getattr(line, k) for k in totals}
    assert figures == totals
    return figures


def demand(line: dict, *, amount_fen=100_000, org_id=None, category="office", demand_id=None, fiscal_year=2026,
           version=2):
    """procurement.demand.submitted as procurement publishes it (v2), or as v1 (no fiscal year)."""
    fields = dict(demand_id=demand_id or uuid.uuid4(), campaign_id=uuid.uuid4(), org_id=org_id or line["org_id"],
                  item_id=uuid.uuid4(), product_id=uuid.uuid4(), category=category, quantity=2,
                  cap_unit_price_fen=amount_fen // 2, amount_fen=amount_fen, budget_line_id=line["id"])
    data = DemandSubmittedV2(fiscal_year=fiscal_year, **fields) if version == 2 else DemandSubmitted(**fields)
    return new_event("procurement.demand.submitted", data, source="zhengban/procurement", about=data.demand_id)


def placed(line: dict, *, amount_fen=100_000, order_id=None, demand_id=None, org_id=None, category="office",
           fiscal_year=2026, version=2):
    """procurement.order.placed as procurement publishes it (v2), or as v1 (no fiscal year)."""
    fields = dict(order_id=order_id or uuid.uuid4(), agreement_id=uuid.uuid4(), campaign_id=uuid.uuid4(),
                  item_id=uuid.uuid4(), product_id=uuid.uuid4(), category=category, org_id=org_id or line["org_id"],
                  budget_line_id=line["id"], quantity=2, unit_price_fen=amount_fen // 2, amount_fen=amount_fen,
                  demand_id=demand_id)
    data = OrderPlacedV2(fiscal_year=fiscal_year, **fields) if version == 2 else OrderPlaced(**fields)
    return new_event("procurement.order.placed", data, source="zhengban/procurement", about=data.order_id)


def cancelled(line: dict, order_id, *, amount_fen=100_000):
    data = OrderCancelled(order_id=order_id, org_id=line["org_id"], budget_line_id=line["id"], amount_fen=amount_fen,
                          reason="不再需要")
    return new_event("procurement.order.cancelled", data, source="zhengban/procurement", about=order_id)


def delivered(line: dict, order_id, *, amount_fen=100_000):
    data = OrderDelivered(order_id=order_id, org_id=line["org_id"], budget_line_id=line["id"], amount_fen=amount_fen,
                          supplier_org_id=uuid.uuid4(), product_id=uuid.uuid4(), product_name="WPS", vendor="金山",
                          category="office", metric="device", quantity=2, term_months=None, valid_from=None,
                          valid_to=None)
    return new_event("procurement.order.delivered", data, source="zhengban/procurement", about=order_id)
