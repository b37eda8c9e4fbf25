"""Building a procurement through the public API: orgs, users, an approved budget line, products
and a campaign run to its framework agreement.

One builder for `zhengban demo`, `zhengban bench` and the tests that run a campaign against a real
installation: every step is the API call a user would make, so what it builds is what the services
themselves wrote, in their own models, and it keeps working when their tables change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zhengban.demo builds with this module: no import at run time, no circle
    from zhengban.demo.client import Api

PROCUREMENT = "/api/v1/procurement"


class Builder:
    """Makes orgs, users and campaigns with the installation's admin (`admin`) over `api`."""

    def __init__(self, api: Api, admin: Api, password: str):
        self.api, self.admin, self.password = api, admin, password
        self._root_id: str | None = None

    @property
    def root_id(self) -> str:
        if self._root_id is None:
            self._root_id = self.admin.get("/api/v1/identity/me")["org_id"]
        return self._root_id

    def org(self, name: str, kind: str, parent_id: str | None = None) -> dict:
        return self.admin.post("/api/v1/identity/orgs", {"name": name, "kind": kind,
                                                         "parent_id": parent_id or self.root_id})

    def user(self, username: str, org_id: str, *roles: str) -> Api:
        """A new user with `roles` in `org_id`, signed in."""
        self.admin.post("/api/v1/identity/users", {"username": username, "password": self.password,
                                                   "org_id": org_id, "roles": list(roles)})
        return self.api.as_(self.api.token(username, self.password))

    @staticmethod
    def user_id(actor: Api) -> str:
        return actor.get("/api/v1/identity/me")["id"]

    @staticmethod
    def approved_line(editor: Api, approver: Api, *, org_id: str, category: str, title: str, quantity: int,
                      unit_price_fen: int, fiscal_year: int = 2026, note: str | None = None) -> dict:
        """A budget line drafted and submitted by `editor`, approved in full by `approver` (finance)."""
        line = editor.post("/api/v1/budget/lines", {"org_id": org_id, "fiscal_year": fiscal_year,
                                                    "category": category, "title": title, "quantity": quantity,
                                                    "unit_price_fen": unit_price_fen})
        editor.post(f"/api/v1/budget/lines/{line['id']}/submit")
        decision = {"approved_fen": line["requested_fen"]} | ({"note": note} if note else {})
        approver.post(f"/api/v1/budget/lines/{line['id']}/approve", decision)
        return line

    @staticmethod
    def product(actor: Api, *, vendor: str, name: str, edition: str, category: str, metric: str = "device",
                term_months: int | None = None, domestic: bool = True) -> dict:
        return actor.post(f"{PROCUREMENT}/products", {"vendor": vendor, "name": name, "edition": edition,
                                                      "category": category, "metric": metric,
                                                      "term_months": term_months, "domestic": domestic})

    @staticmethod
    def campaign(lead: Api, *, title: str, lead_org_id: str, participant_org_ids: list[str],
                 items: list[tuple[str, int]], fiscal_year: int = 2026, min_offers: int = 1,
                 standstill_days: int = 0) -> Campaign:
        """A draft campaign led by `lead`; `items` are (product id, cap unit price in fen)."""
        body = lead.post(f"{PROCUREMENT}/campaigns", {
            "title": title, "lead_org_id": lead_org_id, "fiscal_year": fiscal_year,
            "participant_org_ids": participant_org_ids,
            "items": [{"product_id": product_id, "cap_unit_price_fen": cap} for product_id, cap in items],
            "min_offers": min_offers, "standstill_days": standstill_days})
        return Campaign(lead, body)


@dataclass
class Campaign:
    """A campaign and its steps, each one call by the one who takes it (the lead unless named)."""

    lead: Api
    body: dict
    demands: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def path(self) -> str:
        return f"{PROCUREMENT}/campaigns/{self.id}"

    @property
    def item_ids(self) -> list[str]:
        return [item["id"] for item in self.body["items"]]

    def open_demand(self) -> None:
        self.lead.post(f"{self.path}/open-demand")

    def declare(self, unit: Api, *, org_id: str, quantity: int, budget_line_id: str, item: int = 0) -> dict:
        demand = unit.post(f"{self.path}/demands", {"org_id": org_id, "item_id": self.item_ids[item],
                                                    "quantity": quantity, "budget_line_id": budget_line_id})
        self.demands.append(demand)
        return demand

    def lock_demand(self) -> None:
        self.lead.post(f"{self.path}/lock-demand")

    def open_offers(self, supplier_org_ids: list[str]) -> None:
        self.lead.post(f"{self.path}/open-offers", {"supplier_org_ids": supplier_org_ids})

    def offer(self, supplier: Api, prices: list[int]) -> dict:
        """`supplier`'s offer: one unit price (fen) per item, in the campaign's order."""
        return supplier.post(f"{self.path}/offers", {"items": [
            {"item_id": item, "unit_price_fen": price} for item, price in zip(self.item_ids, prices, strict=True)]})

    def close_offers(self) -> None:
        self.lead.post(f"{self.path}/close-offers")

    def tender(self, rounds: list[list[tuple[Api, list[int]]]]) -> None:
        """Offers opened already: each round's (supplier, prices) offers, then close; a round after
        the first is opened first (a supplier may only keep or lower its price there)."""
        for n, offers in enumerate(rounds):
            if n:
                self.lead.post(f"{self.path}/rounds")
            for supplier, prices in offers:
                self.offer(supplier, prices)
            self.close_offers()

    def evaluate(self, panel: list[tuple[Api, str]], scores: dict[str, int]) -> None:
        """Appoints `panel` ((expert, user id) each), and each expert scores every supplier in
        `scores` (supplier org id → score), recommending it."""
        self.lead.post(f"{self.path}/panel", {"member_user_ids": [user_id for _, user_id in panel]})
        for expert, _ in panel:
            for supplier_org_id, score in scores.items():
                expert.post(f"{self.path}/evaluations", {"supplier_org_id": supplier_org_id, "score": score,
                                                         "recommend": True})

    def award(self, supplier_org_id: str) -> dict:
        """Awards to `supplier_org_id`; the answer carries the framework agreement's id."""
        self.body = self.lead.post(f"{self.path}/award", {"supplier_org_id": supplier_org_id})
        return self.body
