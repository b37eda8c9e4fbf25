"""The procurement service in-process with real NATS. The budget's answers are published by the
tests themselves (as the budget service would), except in test_with_budget.py."""

from __future__ import annotations

import uuid

import pytest

from kernel.contracts import PreencumbranceAnswered, ReservationAnswered
from kernel.events import new_event
from tests.support.apps import eventually
from tests.support.events import publish

PREFIX = "/api/v1/procurement"


@pytest.fixture
async def procurement(start_service):
    return await start_service("procurement")


class Scenario:
    """An SOE group (lead) buying an office suite and antivirus for two enterprises from two suppliers."""

    def __init__(self, svc, tree, nats_url: str):
        self.svc, self.tree, self.nats_url = svc, tree, nats_url
        self.lead = tree.actor("soe", "procurement")
        self.unit_1 = tree.actor("enterprise_1", "procurement")
        self.unit_2 = tree.actor("enterprise_2", "procurement")
        self.supplier_x = tree.actor("supplier_x", "supplier")
        self.supplier_y = tree.actor("supplier_y", "supplier")
        self.panel = [tree.actor("soe", "negotiator") for _ in range(3)]
        self.lines = {"enterprise_1": uuid.uuid4(), "enterprise_2": uuid.uuid4()}
        self.campaign: dict = {}
        self.items: list[dict] = []

    async def call(self, method: str, path: str, actor, expect: int | None = 200, **kwargs):
        resp = await self.svc.client.request(method, f"{PREFIX}{path}", headers=actor.headers, **kwargs)
        if expect is not None:
            assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    async def create(self, *, min_offers: int = 2, standstill_days: int = 0, caps=(60_000, 10_000)) -> dict:
        """A new campaign; the products are made once per scenario (a test may run several campaigns)."""
        if not getattr(self, "products", None):
            office = await self.call("POST", "/products", self.lead, 201, json={
                "vendor": "金山办公", "name": "WPS Office", "edition": "专业版", "category": "office",
                "metric": "device", "term_months": None, "domestic": True})
            antivirus = await self.call("POST", "/products", self.lead, 201, json={
                "vendor": "火绒", "name": "火绒终端安全", "edition": "企业版", "category": "antivirus",
                "metric": "device", "term_months": 12, "domestic": True})
            self.products = [office, antivirus]
        office, antivirus = self.products
        self.campaign = await self.call("POST", "/campaigns", self.lead, 201, json={
            "title": "2026 年集团办公软件联合采购", "lead_org_id": str(self.tree["soe"].id), "fiscal_year": 2026,
            "participant_org_ids": [str(self.tree["enterprise_1"].id), str(self.tree["enterprise_2"].id)],
            "items": [{"product_id": office["id"], "cap_unit_price_fen": caps[0]},
                      {"product_id": antivirus["id"], "cap_unit_price_fen": caps[1]}],
            "min_offers": min_offers, "standstill_days": standstill_days})
        self.items = self.campaign["items"]
        return self.campaign

    @property
    def path(self) -> str:
        return f"/campaigns/{self.campaign['id']}"

    async def declare(self, unit: str, item: int, quantity: int, *, answer: str | None = "accepted") -> dict:
        actor = self.unit_1 if unit == "enterprise_1" else self.unit_2
        demand = await self.call("POST", f"{self.path}/demands", actor, 201, json={
            "org_id": str(self.tree[unit].id), "item_id": self.items[item]["id"], "quantity": quantity,
            "budget_line_id": str(self.lines[unit])})
        assert demand["status"] == "pending_budget"
        if answer:
            await self.answer_demand(demand, answer)
        return demand

    async def answer_demand(self, demand: dict, answer: str, reason: str | None = None) -> None:
        data = PreencumbranceAnswered(demand_id=demand["id"], campaign_id=demand["campaign_id"],
                                      line_id=demand["budget_line_id"], org_id=demand["org_id"],
                                      amount_fen=demand["amount_fen"], reason=reason)
        await publish(self.nats_url, new_event(f"budget.preencumbrance.{answer}", data, source="zhengban/budget"))

        async def answered():
            got = await self.call("GET", f"{self.path}/demands/{demand['id']}", self.lead)
            return got["status"] == answer

        await eventually(answered)

    async def to_offers(self, suppliers=("supplier_x", "supplier_y")) -> None:
        """Opens demand, declares some, locks it and opens offers to the suppliers (both, by default)."""
        await self.call("POST", f"{self.path}/open-demand", self.lead)
        await self.declare("enterprise_1", 0, 100)
        await self.declare("enterprise_2", 0, 50)
        await self.declare("enterprise_1", 1, 100)
        await self.call("POST", f"{self.path}/lock-demand", self.lead)
        await self.call("POST", f"{self.path}/open-offers", self.lead, json={
            "supplier_org_ids": [str(self.tree[s].id) for s in suppliers]})

    async def offer(self, supplier, prices: tuple[int, int], expect: int = 201):
        return await self.call("POST", f"{self.path}/offers", supplier, expect, json={
            "items": [{"item_id": self.items[i]["id"], "unit_price_fen": p} for i, p in enumerate(prices)]})

    async def to_award(self) -> dict:
        """Two rounds, a panel of three that recommends both, award to the lower: supplier_y."""
        await self.to_offers()
        await self.offer(self.supplier_x, (55_000, 9_000))
        await self.offer(self.supplier_y, (58_000, 9_500))
        await self.call("POST", f"{self.path}/close-offers", self.lead)
        await self.call("POST", f"{self.path}/rounds", self.lead)
        await self.offer(self.supplier_y, (52_000, 9_000))
        await self.call("POST", f"{self.path}/close-offers", self.lead)
        await self.call("POST", f"{self.path}/panel", self.lead,
                        json={"member_user_ids": [str(m.subject) for m in self.panel]})
        for member in self.panel:
            for supplier in ("supplier_x", "supplier_y"):
                await self.call("POST", f"{self.path}/evaluations", member, 201, json={
                    "supplier_org_id": str(self.tree[supplier].id), "score": 80, "recommend": True})
        return await self.call("POST", f"{self.path}/award", self.lead,
                               json={"supplier_org_id": str(self.tree["supplier_y"].id)})

    async def answer_order(self, order: dict, answer: str, reason: str | None = None):
        """Publishes the budget's answer to an order; returns the event."""
        data = ReservationAnswered(order_id=order["id"], line_id=order["budget_line_id"], org_id=order["org_id"],
                                   amount_fen=order["amount_fen"], reason=reason)
        event = new_event(f"budget.reservation.{answer}", data, source="zhengban/budget")
        await publish(self.nats_url, event)
        return event


@pytest.fixture
async def scenario(procurement, tree, nats) -> Scenario:
    return Scenario(procurement, tree, nats.url)
