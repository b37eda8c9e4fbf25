"""Who sees what of a campaign, through every read: the generated confidentiality test.

One campaign goes through demand, two offer rounds, a panel, the award and call-off orders, with a
distinct marker value for each secret: each supplier's prices per round, each score, each unit's
demand quantity, each order id. Then every GET operation of the merged OpenAPI document that
touches procurement is called by every reader kind of SPEC's table, and the markers found in each
answer must be exactly those EXPECTED says. A read path with no entry in EXPECTED, or none in the
service's visibility policy, fails the test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest

from services.procurement import visibility
from tests.procurement.conftest import Scenario
from tests.procurement.ocds_schema import problems
from tests.security.role_table import local_document, operations_of

# Prices in fen, per supplier and round, for the two items (caps 600.00 and 100.00 yuan).
PRICES = {("x", 1): (55_017, 9_013), ("y", 1): (58_023, 9_511), ("x", 2): (54_019, 8_951), ("y", 2): (52_027, 8_957)}
# Demand quantities per unit and item; ordered quantities are not markers.
DEMANDS = {("e1", 0): 1013, ("e2", 0): 517, ("e1", 1): 1109, ("e2", 1): 211}
# Scores per panel member (0, 1, 2) and supplier.
SCORES = {(0, "x"): 61, (0, "y"): 67, (1, "x"): 71, (1, "y"): 73, (2, "x"): 79, (2, "y"): 83}

# `lead_negotiator` reads everything as the lead does; `lead_it_admin` is of the lead's subtree without
# the roles that read everything, and reads as a participant unit (its subtree's two units).
READERS = ("admin", "lead", "lead_negotiator", "auditor", "lead_it_admin", "panel", "unit_1", "unit_2", "loser",
           "winner", "uninvited")
EVERYTHING = ("admin", "lead", "lead_negotiator", "auditor")  # the root `admin` holds every supplier org too


def price_markers(supplier: str, round_: int) -> set[str]:
    return {f"price {supplier}{round_}/{item}" for item in (0, 1)}


ALL_PRICES = set().union(*(price_markers(s, r) for s, r in PRICES))
UNIFIED = price_markers("y", 2)  # the winner's last prices become the campaign's unified prices
SCORE_MARKERS = {f"score {m}{s}" for m, s in SCORES}
D1, D2 = {"demand e1/0", "demand e1/1"}, {"demand e2/0", "demand e2/1"}
O1, O2 = {"order e1"}, {"order e2"}
L1, L2 = {"line e1"}, {"line e2"}  # each unit's budget line: its demands' and its orders'
DI = {"demand id e1/0"}  # the demand unit_1's order draws on (orders name it too)
ORDERED = {"price y2/0"}  # both orders are for item 0
CAMPAIGN_READERS = ("admin", "lead", "lead_negotiator", "auditor", "lead_it_admin", "panel", "unit_1", "unit_2",
                    "loser", "winner")


def _each(readers, markers) -> dict[str, set[str]]:
    return {r: set(markers) for r in readers}


def _none() -> dict[str, set[str]]:
    return {r: set() for r in READERS}


C = "/api/v1/procurement/campaigns/{campaign_id}"
EXPECTED: dict[str, dict[str, set[str]]] = {
    "/api/v1/procurement/campaigns": _none() | _each(CAMPAIGN_READERS, UNIFIED),
    C: _none() | _each(CAMPAIGN_READERS, UNIFIED),
    f"{C}/demands": _none() | _each(EVERYTHING + ("lead_it_admin",), D1 | D2 | L1 | L2 | DI)
    | {"unit_1": D1 | L1 | DI, "unit_2": D2 | L2},
    f"{C}/demands/{{demand_id}}":
        _none() | _each(EVERYTHING + ("lead_it_admin", "unit_1"), {"demand e1/0"} | L1 | DI),
    f"{C}/offers": _none() | _each(EVERYTHING + ("lead_it_admin", "panel", "unit_1", "unit_2"), ALL_PRICES)
    | {"loser": price_markers("x", 1) | price_markers("x", 2), "winner": price_markers("y", 1) | UNIFIED},
    f"{C}/evaluations": _none() | _each(EVERYTHING + ("panel",), SCORE_MARKERS),
    f"{C}/complaints": _none(),
    f"{C}/history": _none() | _each(EVERYTHING, SCORE_MARKERS | D1 | D2 | DI)
    | {"lead_it_admin": D1 | D2 | DI, "panel": SCORE_MARKERS, "unit_1": D1 | DI, "unit_2": D2},
    f"{C}/ocds": _none() | _each(EVERYTHING + ("lead_it_admin", "winner"), UNIFIED | O1 | O2)
    | {"panel": UNIFIED, "unit_1": UNIFIED | O1, "unit_2": UNIFIED | O2, "loser": UNIFIED},
    "/api/v1/procurement/agreements": (AGREEMENTS_LISTED := _none() | _each(
        EVERYTHING + ("lead_it_admin", "unit_1", "unit_2", "winner"), UNIFIED)),
    "/api/v1/procurement/agreements/{agreement_id}":
        _none() | _each(EVERYTHING + ("lead_it_admin", "unit_1", "unit_2", "winner"), UNIFIED),
    "/api/v1/procurement/agreements/{agreement_id}/history": _none(),
    # An order carries its unit price: the agreement's, the winner's last price for that item. The
    # agreement's supplier reads the orders under it without the units' budget lines.
    "/api/v1/procurement/orders": (ORDERS_LISTED := _none() | _each(
        EVERYTHING + ("lead_it_admin",), O1 | O2 | ORDERED | L1 | L2 | DI)
        | {"winner": O1 | O2 | ORDERED, "unit_1": O1 | ORDERED | L1 | DI, "unit_2": O2 | ORDERED | L2}),
    "/api/v1/procurement/orders/{order_id}":
        _none() | _each(EVERYTHING + ("lead_it_admin", "unit_1"), O1 | ORDERED | L1 | DI) | {"winner": O1 | ORDERED},
    "/api/v1/procurement/orders/{order_id}/history":
        _none() | _each(EVERYTHING + ("lead_it_admin", "unit_1"), O1 | L1) | {"winner": O1},
    "/api/v1/procurement/products": _none(),
    # The spreadsheets: a list's own rows, without the demand an order draws on (no such column).
    **{f"/api/v1/procurement/{listed}.{fmt}": {r: m - DI for r, m in seen.items()}
       for listed, seen in (("orders", ORDERS_LISTED), ("agreements", AGREEMENTS_LISTED)) for fmt in ("csv", "xlsx")},
    "/api/v1/procurement/products/{product_id}": _none(),
    "/api/v1/procurement/working-days": _none(),
    "/api/v1/procurement/parties": _none(),
    "/api/v1/procurement/dead-letters": _none(),
    "/api/v1/procurement/orgs/{org_id}": _none(),
}


def procurement_reads() -> list[str]:
    return sorted({op.path for op in operations_of(local_document())
                   if op.method == "GET" and op.path.startswith("/api/v1/procurement")})


def test_every_procurement_read_has_a_policy_entry_and_an_expectation():
    reads = procurement_reads()
    assert [p for p in reads if p not in visibility.READS] == [], "add them to services/procurement/visibility.py"
    assert [p for p in reads if p not in EXPECTED] == [], "add them to EXPECTED in this test"


class World(Scenario):
    """The campaign with its markers, and a principal for each reader kind."""

    async def build(self) -> None:
        tree = self.tree
        # Outside experts: their org is neither the lead's nor a participant's.
        self.panel = [tree.actor("dept_b", "negotiator") for _ in range(3)]
        self.readers = {
            "admin": tree.actor("root", "admin"), "lead": self.lead, "lead_negotiator": tree.actor("soe", "negotiator"),
            "auditor": tree.actor("sasac", "auditor"), "lead_it_admin": tree.actor("soe", "it_admin"),
            "panel": self.panel[0], "unit_1": self.unit_1, "unit_2": self.unit_2,
            "loser": self.supplier_x, "winner": self.supplier_y,
            "uninvited": tree.actor("supplier_z", "supplier")}
        await self.create()
        await self.call("POST", f"{self.path}/open-demand", self.lead)
        self.demands = {key: await self.declare("enterprise_1" if key[0] == "e1" else "enterprise_2", key[1], q)
                        for key, q in DEMANDS.items()}
        await self.call("POST", f"{self.path}/lock-demand", self.lead)
        await self.call("POST", f"{self.path}/open-offers", self.lead, json={
            "supplier_org_ids": [str(tree["supplier_x"].id), str(tree["supplier_y"].id)]})
        suppliers = {"x": self.supplier_x, "y": self.supplier_y}
        for round_ in (1, 2):
            if round_ == 2:
                await self.call("POST", f"{self.path}/rounds", self.lead)
            for name, actor in suppliers.items():
                await self.offer(actor, PRICES[(name, round_)])
            await self.call("POST", f"{self.path}/close-offers", self.lead)
        await self.call("POST", f"{self.path}/panel", self.lead,
                        json={"member_user_ids": [str(m.subject) for m in self.panel]})
        for (member, supplier), score in SCORES.items():
            await self.call("POST", f"{self.path}/evaluations", self.panel[member], 201, json={
                "supplier_org_id": str(tree[f"supplier_{supplier}"].id), "score": score, "recommend": True})
        awarded = await self.call("POST", f"{self.path}/award", self.lead,
                                  json={"supplier_org_id": str(tree["supplier_y"].id)})
        assert awarded["status"] == "awarded"
        self.agreement_id = awarded["agreement_id"]
        self.orders = {}
        for unit, actor in (("e1", self.unit_1), ("e2", self.unit_2)):
            org = "enterprise_1" if unit == "e1" else "enterprise_2"
            self.orders[unit] = await self.call("POST", "/orders", actor, 202, json={
                "agreement_id": self.agreement_id, "item_id": self.items[0]["id"], "quantity": 3,
                "budget_line_id": str(self.lines[org]), "org_id": str(tree[org].id)})
        self.params = {"campaign_id": self.campaign["id"], "demand_id": self.demands[("e1", 0)]["id"],
                       "agreement_id": self.agreement_id, "order_id": self.orders["e1"]["id"],
                       "product_id": self.products[0]["id"], "org_id": str(tree["soe"].id)}

    def markers(self) -> dict[str, object]:
        """marker name → the value whose presence in an answer reveals it."""
        found: dict[str, object] = {}
        for (supplier, round_), prices in PRICES.items():
            for item, fen in enumerate(prices):
                found[f"price {supplier}{round_}/{item}"] = fen
        for (member, supplier), score in SCORES.items():
            found[f"score {member}{supplier}"] = score
        for (unit, item), quantity in DEMANDS.items():
            found[f"demand {unit}/{item}"] = quantity
        for unit, order in self.orders.items():
            found[f"order {unit}"] = order["id"]
        for unit, org in (("e1", "enterprise_1"), ("e2", "enterprise_2")):
            found[f"line {unit}"] = str(self.lines[org])
        found["demand id e1/0"] = self.demands[("e1", 0)]["id"]
        return found


def values_in(body) -> tuple[set, list[str]]:
    """The numbers and the strings anywhere in a JSON body (numbers in yuan count in fen too)."""
    numbers, strings = set(), []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                strings.append(str(key))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int | Decimal):
            numbers.add(Decimal(node))
            numbers.add(Decimal(node) * 100)  # an amount in yuan
        else:
            strings.append(str(node))

    walk(body)
    return numbers, strings


def body_of(resp) -> object:
    """An answer as values: JSON, or a spreadsheet's cells (numbers as numbers), or the text."""
    if resp.headers.get("content-type", "").startswith("text/csv"):
        return [[_number_or_text(cell) for cell in row] for row in csv.reader(io.StringIO(resp.text))]
    if resp.request.url.path.endswith(".xlsx"):
        sheet = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True).active
        return [[_number_or_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    try:
        return json.loads(resp.text, parse_float=Decimal)
    except ValueError:
        return resp.text


def _number_or_text(cell):
    if cell is None or isinstance(cell, bool):
        return cell
    try:
        return Decimal(str(cell))
    except ArithmeticError:
        return str(cell)


def seen_markers(markers: dict[str, object], body) -> set[str]:
    numbers, strings = values_in(body)
    found = set()
    for name, value in markers.items():
        if isinstance(value, int):
            if Decimal(value) in numbers:
                found.add(name)
        elif any(value in s for s in strings):
            found.add(name)
    return found


@pytest.fixture
async def world(start_service, tree, nats) -> World:
    tree.add("supplier_z", "supplier")
    svc = await start_service("procurement")
    built = World(svc, tree, nats.url)
    await built.build()
    return built


async def test_each_reader_sees_exactly_its_markers_through_every_read(world):
    markers = world.markers()
    assert len(set(map(str, markers.values()))) == len(markers), "marker values must be distinct"
    wrong = []
    for path in procurement_reads():
        url = re.sub(r"{(\w+)}", lambda m: world.params[m.group(1)], path)
        for reader in READERS:
            resp = await world.svc.client.get(url, headers=world.readers[reader].headers)
            assert resp.status_code < 500, f"{path} as {reader}: {resp.status_code} {resp.text}"
            got = seen_markers(markers, body_of(resp)) if resp.status_code == 200 else set()
            if got != EXPECTED[path][reader]:
                wrong.append(f"{path} as {reader}: extra {sorted(got - EXPECTED[path][reader])}, "
                             f"missing {sorted(EXPECTED[path][reader] - got)}")
    assert wrong == [], "\n".join(wrong)


async def test_every_readers_ocds_export_is_valid_ocds(world):
    for reader in CAMPAIGN_READERS:
        package = await world.call("GET", f"{world.path}/ocds", world.readers[reader])
        assert problems(package) == [], reader


async def test_the_lead_subtree_reads_everything_only_with_the_roles_spec_names(start_service, tree):
    """SPEC: the lead org's subtree (`procurement`, `negotiator`) and auditors over it read everything.
    An IT admin of a procurement centre that leads a campaign for units elsewhere reads the campaign
    as a participant unit would, holding no demand of its own: no unit's demand, no panel."""
    tree.add("centre", "procurement_center", "province")
    svc = await start_service("procurement")
    centre = World(svc, tree, "")
    lead = tree.actor("centre", "procurement")
    product = await centre.call("POST", "/products", lead, 201, json={
        "vendor": "金山办公", "name": "WPS Office", "edition": "专业版", "category": "office", "metric": "device",
        "term_months": None, "domestic": True})
    campaign = await centre.call("POST", "/campaigns", lead, 201, json={
        "title": "中心代理采购", "lead_org_id": str(tree["centre"].id), "fiscal_year": 2026,
        "participant_org_ids": [str(tree["dept_a"].id)],
        "items": [{"product_id": product["id"], "cap_unit_price_fen": 60_000}], "min_offers": 1, "standstill_days": 0})
    path = f"/campaigns/{campaign['id']}"
    await centre.call("POST", f"{path}/open-demand", lead)
    demand = await centre.call("POST", f"{path}/demands", tree.actor("dept_a", "procurement"), 201, json={
        "org_id": str(tree["dept_a"].id), "item_id": campaign["items"][0]["id"], "quantity": 1019,
        "budget_line_id": str(centre.lines["enterprise_1"])})

    def demands_in(page) -> list[str]:
        return [d["id"] for d in page["items"]]

    for role in ("procurement", "negotiator", "auditor"):
        reader = tree.actor("centre", role)
        assert demands_in(await centre.call("GET", f"{path}/demands", reader)) == [demand["id"]], role
        await centre.call("GET", f"{path}/demands/{demand['id']}", reader)
    for role in ("it_admin", "budget_editor", "finance"):
        reader = tree.actor("centre", role)
        seen = await centre.call("GET", path, reader)
        assert seen["participant_org_ids"] == [str(tree["dept_a"].id)] and seen["panel_member_user_ids"] == []
        assert demands_in(await centre.call("GET", f"{path}/demands", reader)) == [], role
        await centre.call("GET", f"{path}/demands/{demand['id']}", reader, 404)
        entries = (await centre.call("GET", f"{path}/history", reader))["items"]
        assert "1019" not in json.dumps(entries) and demand["id"] not in json.dumps(entries), role
        assert [c["id"] for c in (await centre.call("GET", "/campaigns", reader))["items"]] == [campaign["id"]]
    # Outside the lead's subtree and every participant's, the campaign does not exist.
    await centre.call("GET", path, tree.actor("dept_b", "it_admin"), 404)
