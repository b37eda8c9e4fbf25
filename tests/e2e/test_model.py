"""A model that checks the API: Hypothesis drives the public HTTP API of a running `zhengban up`
(PostgreSQL in the PostgreSQL pass, SQLite otherwise) with random batches of budget, order,
allocation, reclaim, seat-transfer and campaign commands, the commands of a batch sent at once
from threads, and after every batch compares what the API answers with a model of what must be true:

- money per budget line: available = approved + adjustments − pre-encumbered − reserved − spent,
  never negative; approved and adjusted are what the 2xx answers made them; reserved and spent
  are the line's confirmed and delivered orders (once the budget has answered every order); the
  ledger sums to those figures and holds no effect twice;
- seats per pool: allocated ≤ total, allocated = the active allocations, which are exactly those
  the 2xx answers made and did not take back; totals move only by 2xx seat transfers; each
  delivered order arrives once as seats;
- no supplier reads a rival's offer price while offers are open (the campaign, its offers, its
  history and its OCDS package), and once offers close each 2xx offer is there, once;
- every 2xx effect is visible exactly once (each line, order and allocation listed once), and
  no answer is a 5xx or a 4xx that is not problem+json.

Async effects (the budget's answers to orders, deliveries becoming seats) are awaited by polling
with a deadline, never by sleeping. A failure shrinks to a short sequence of batches, printed with
the `@reproduce_failure` line that replays it. CI runs ZHENGBAN_MODEL_EXAMPLES examples (default
8, about a minute per database); set it higher (and ZHENGBAN_MODEL_STEPS) for a long run."""

from __future__ import annotations

import functools
import os
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.e2e.stack import UNLIMITED, RunningStack, started
from zhengban.builder import Builder
from zhengban.demo.client import Api

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("ZHENGBAN_MODEL_EXAMPLES", "8"))
STEPS = int(os.environ.get("ZHENGBAN_MODEL_STEPS", "10"))
PASSWORD = "Model-check-2026"
BUDGET, PROCUREMENT, LICENSES = "/api/v1/budget", "/api/v1/procurement", "/api/v1/licenses"
UNIT_PRICE_FEN = 50_000  # a line's unit price, under the office cap
AGREED_FEN = 49_800  # the agreement's unit price: an order of n seats costs n × this
CAP_FEN = 60_000
SETTLE_SECONDS = 60  # the longest wait for an async effect (an order answered, a delivery as seats)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The model sends many requests from few callers; the limits have tests of their own.
    with started(tmp_path_factory.mktemp("model"), env=UNLIMITED) as running:
        yield running


class Actor:
    """A signed-in user: `call` answers the raw response (the model judges every status itself)."""

    def __init__(self, api: Api, name: str):
        self.api, self.name = api, name
        self.http = httpx.Client(base_url=api.base_url, headers=api.headers, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None, **params) -> httpx.Response:
        headers = {"Idempotency-Key": secrets.token_hex(16)} if method == "POST" else {}
        return self.http.request(method, path, json=body, params=params or None, headers=headers)

    def all(self, path: str, **params) -> list[dict]:
        return self.api.all(path, **params)


@dataclass
class Unit:
    org_id: str
    editor: Actor  # budget_editor + procurement: drafts lines, requests transfers, orders, cancels


@dataclass
class World:
    """Built once over the API: two units under a finance bureau, a procurement centre with an
    awarded framework agreement both units may order from, and two suppliers."""

    finance: Actor
    it_admin: Actor  # over the bureau's subtree: both units' seats
    lead: Actor
    suppliers: list[tuple[str, Actor]]  # (org id, supplier user); the first holds the agreement
    units: list[Unit]
    centre_id: str
    product_id: str
    agreement_id: str
    item_id: str
    delivered_seats: Counter = field(default_factory=Counter)  # org id → seats delivered, all examples


def build_world(stack: RunningStack) -> World:
    api = Api(stack.url)
    admin = api.as_(api.token("admin", stack.admin_password))
    build = Builder(api, admin, PASSWORD)
    tag = secrets.token_hex(3)
    bureau = build.org(f"模型财政局 {tag}", "finance_bureau")["id"]
    unit_ids = [build.org(f"模型单位 {n} {tag}", "unit", bureau)["id"] for n in (1, 2)]
    centre = build.org(f"模型采购中心 {tag}", "procurement_center")["id"]
    supplier_ids = [build.org(f"模型供应商 {n} {tag}", "supplier")["id"] for n in (1, 2)]

    def user(name: str, org: str, *roles: str) -> Api:
        return build.user(f"model-{name}-{tag}", org, *roles)

    finance = user("finance", bureau, "finance")
    editors = [user(f"unit{n}", org, "budget_editor", "procurement") for n, org in enumerate(unit_ids)]
    lead = user("lead", centre, "procurement")
    suppliers = [user(f"supplier{n}", org, "supplier") for n, org in enumerate(supplier_ids)]
    product = build.product(lead, vendor="模型软件", name="模型办公", edition=tag, category="office")
    campaign = build.campaign(lead, title=f"模型联合采购 {tag}", lead_org_id=centre, participant_org_ids=unit_ids,
                              items=[(product["id"], CAP_FEN)], min_offers=1)
    campaign.open_demand()
    for editor, org in zip(editors, unit_ids, strict=True):
        line = build.approved_line(editor, finance, org_id=org, category="office", title="模型需求", quantity=10,
                                   unit_price_fen=CAP_FEN)  # a demand holds its quantity at the cap
        campaign.declare(editor, org_id=org, quantity=10, budget_line_id=line["id"])
    answered = eventually(lambda: (ds := lead.all(f"{campaign.path}/demands")) and all(
        d["status"] != "pending_budget" for d in ds) and ds, "the world's demands answered by the budget")
    assert all(d["status"] == "accepted" for d in answered), [(d["status"], d.get("reason")) for d in answered]
    campaign.lock_demand()
    campaign.open_offers(supplier_ids)
    campaign.tender([[(suppliers[0], [AGREED_FEN])]])
    panel = [user(f"expert{n}", centre, "negotiator") for n in range(3)]
    campaign.evaluate([(p, build.user_id(p)) for p in panel], {supplier_ids[0]: 90})
    agreement_id = campaign.award(supplier_ids[0])["agreement_id"]
    return World(finance=Actor(finance, "finance"), it_admin=Actor(user("it", bureau, "it_admin"), "it_admin"),
                 lead=Actor(lead, "lead"),
                 suppliers=[(org, Actor(s, f"supplier{n}")) for n, (org, s) in enumerate(zip(supplier_ids, suppliers,
                                                                                              strict=True))],
                 units=[Unit(org, Actor(e, f"unit{n}")) for n, (org, e) in enumerate(zip(unit_ids, editors,
                                                                                      strict=True))],
                 centre_id=centre, product_id=product["id"], agreement_id=agreement_id,
                 item_id=campaign.item_ids[0])


def eventually(check, what: str, timeout: float = SETTLE_SECONDS):
    """Polls `check` until it returns something truthy (returned), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        time.sleep(0.1)


def ints_in(value) -> set[int]:
    """Every integer anywhere in a JSON value."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, dict):
        return set().union(*(ints_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(ints_in(v) for v in value)) if value else set()
    return set()


# A command names its objects by position (taken modulo how many there are), so a shrunk failure
# reads as a short list of small numbers.
INDEX = st.integers(0, 5)
COMMAND = st.one_of(
    st.tuples(st.just("new_line"), st.integers(0, 1), st.integers(1, 8)),
    st.tuples(st.just("adjust"), INDEX, st.integers(-300_000, 300_000).filter(bool)),
    st.tuples(st.just("transfer"), INDEX, INDEX, st.integers(1, 400_000)),
    st.tuples(st.just("order"), INDEX, st.integers(1, 4)),
    st.tuples(st.just("cancel"), INDEX),
    st.tuples(st.just("deliver"), INDEX),
    st.tuples(st.just("deliver"), INDEX),  # twice: an order must be confirmed first, most tries find none
    st.tuples(st.just("allocate"), st.integers(0, 1), INDEX),
    st.tuples(st.just("reclaim"), INDEX),
    st.tuples(st.just("reclaim_run"), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("seat_transfer"), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("offer"), st.integers(0, 1), st.integers(40_000, 59_999)),
    st.tuples(st.just("close_offers")),
)
ENDING = {"reclaim", "reclaim_run", "close_offers"}
REFUSALS = {409, 422}  # what a command the model may not predict (a race lost, money short) may answer


def explained(check):
    """A failure of `check` also shows the example's last answers: the shrunk steps say what was
    sent, these what came back."""

    @functools.wraps(check)
    def checked(self, *args, **kwargs):
        try:
            return check(self, *args, **kwargs)
        except AssertionError as exc:
            exc.add_note("the last answers:\n" + "\n".join(self.log[-30:]))
            raise

    return checked


class Model(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self):
        super().__init__()
        self.tag = secrets.token_hex(3)
        self.lines: list[dict] = []  # {id, org, unit, approved, adjusted, adjustments}
        self.orders: list[dict] = []  # {id, line, org, amount, quantity, cancelled, delivered}
        self.devices: list[list[str]] = [[], []]  # per unit
        self.pools: dict[str, dict] = {}  # pool id → {org, total}
        self.active: dict[str, str] = {}  # allocation id → pool id
        self.reclaimed: set[str] = set()
        self.campaign: dict = {}
        self.offers: dict[int, list[int]] = {0: [], 1: []}  # supplier → prices answered 2xx, in order
        # supplier → the prices that may stand last: two offers of one supplier in one batch took
        # effect in an order their answers do not tell, so either may be the one kept.
        self.last_offers: dict[int, set[int]] = {0: set(), 1: set()}
        self.log: list[str] = []

    # --- set-up of one example -------------------------------------------------------------

    @initialize()
    def start(self):
        w = self.world
        for n, unit in enumerate(w.units):
            self.add_line(n, self.ok(self.post_line(n, 4)))
            entitlement = self.ok(w.it_admin.call("POST", f"{LICENSES}/entitlements", {
                "org_id": unit.org_id, "product_name": f"模型软件 {self.tag}", "vendor": "模型", "category": "business",
                "metric": "device", "quantity": 3, "source": "manual", "reference": f"model-{self.tag}-{n}"}))
            self.pools[entitlement["pool_id"]] = {"org": unit.org_id, "unit": n, "total": 3}
            for d in range(3):
                device = self.ok(w.it_admin.call("POST", f"{LICENSES}/devices", {
                    "org_id": unit.org_id, "asset_tag": f"M-{self.tag}-{n}-{d}", "hostname": f"m{self.tag}{n}{d}",
                    "kind": "desktop"}))
                self.devices[n].append(device["id"])
        campaign = self.ok(w.lead.call("POST", f"{PROCUREMENT}/campaigns", {
            "title": f"模型投标 {self.tag}", "lead_org_id": w.centre_id, "fiscal_year": 2026,
            "participant_org_ids": [u.org_id for u in w.units],
            "items": [{"product_id": w.product_id, "cap_unit_price_fen": CAP_FEN}], "min_offers": 1}))
        for step, body in (("open-demand", None), ("lock-demand", None),
                           ("open-offers", {"supplier_org_ids": [org for org, _ in w.suppliers]})):
            self.ok(w.lead.call("POST", f"{PROCUREMENT}/campaigns/{campaign['id']}/{step}", body))
        self.campaign = {"id": campaign["id"], "item": campaign["items"][0]["id"], "open": True}

    @staticmethod
    def ok(resp: httpx.Response) -> dict:
        assert resp.status_code in (200, 201, 202), f"{resp.request.method} {resp.request.url}: " \
                                                    f"{resp.status_code} {resp.text[:500]}"
        return resp.json()

    def post_line(self, unit: int, quantity: int) -> httpx.Response:
        """A line drafted, submitted and approved in full; answers the approval."""
        w = self.world
        editor = w.units[unit].editor
        line = self.ok(editor.call("POST", f"{BUDGET}/lines", {
            "org_id": w.units[unit].org_id, "fiscal_year": 2026, "category": "office", "title": f"模型 {self.tag}",
            "quantity": quantity, "unit_price_fen": UNIT_PRICE_FEN}))
        self.ok(editor.call("POST", f"{BUDGET}/lines/{line['id']}/submit"))
        return w.finance.call("POST", f"{BUDGET}/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})

    def add_line(self, unit: int, approved: dict) -> None:
        assert approved["status"] == "approved" and approved["approved_fen"] == approved["requested_fen"], approved
        self.lines.append({"id": approved["id"], "org": approved["org_id"], "unit": unit,
                           "approved": approved["approved_fen"], "adjusted": 0, "adjustments": 0})

    # --- the commands ---------------------------------------------------------------------
    # Each is resolved to its objects first (from the model as it is before the batch), then sent
    # from its thread, then its 2xx answer applied to the model; the threads never touch the model.

    @staticmethod
    def pick(items: list, n: int):
        return items[n % len(items)] if items else None

    def resolve(self, command: tuple) -> dict | None:
        kind, args = command[0], command[1:]
        if kind in ("adjust", "order"):
            return {"line": self.pick(self.lines, args[0])}
        if kind == "transfer":
            source, target = self.pick(self.lines, args[0]), self.pick(self.lines, args[1])
            return {"source": source, "target": target} if source["org"] == target["org"] and source is not target \
                else None
        if kind in ("cancel", "deliver"):
            order = self.pick(self.orders, args[0])
            return {"order": order} if order else None
        if kind == "allocate":
            return {"pool": self.pool_of(args[0]), "device": self.pick(self.devices[args[0]], args[1])}
        if kind == "reclaim":
            allocation = self.pick(sorted(self.active), args[0])
            return {"allocation": allocation} if allocation else None
        if kind == "seat_transfer":
            return {"pool": self.pool_of(args[0])}
        return {}

    def pool_of(self, unit: int) -> str:
        """The unit's first pool of this example's product (a seat transfer may add a second)."""
        return next(p for p, v in self.pools.items() if v["unit"] == unit)

    def send(self, command: tuple, it: dict) -> httpx.Response:
        w, kind, args = self.world, command[0], command[1:]
        if kind == "new_line":
            return self.post_line(*args)
        if kind == "adjust":
            return w.finance.call("POST", f"{BUDGET}/lines/{it['line']['id']}/adjustments",
                                  {"delta_fen": args[1], "reason": "模型调整"})
        if kind == "transfer":
            editor = w.units[it["source"]["unit"]].editor
            resp = editor.call("POST", f"{BUDGET}/transfers", {
                "from_line_id": it["source"]["id"], "to_line_id": it["target"]["id"], "amount_fen": args[2],
                "reason": "模型调剂"})
            if resp.status_code != 201:
                return resp
            return w.finance.call("POST", f"{BUDGET}/transfers/{resp.json()['id']}/approve")
        if kind == "order":
            unit = w.units[it["line"]["unit"]]
            return unit.editor.call("POST", f"{PROCUREMENT}/orders", {
                "agreement_id": w.agreement_id, "item_id": w.item_id, "quantity": args[1],
                "budget_line_id": it["line"]["id"], "org_id": unit.org_id})
        if kind == "cancel":
            order = it["order"]
            return w.units[order["unit"]].editor.call("POST", f"{PROCUREMENT}/orders/{order['id']}/cancel",
                                                      {"reason": "模型取消"})
        if kind == "deliver":
            order = it["order"]
            return w.suppliers[0][1].call("POST", f"{PROCUREMENT}/orders/{order['id']}/deliver",
                                          {"keys": [f"KEY-{order['id']}"]})
        if kind == "allocate":
            return w.it_admin.call("POST", f"{LICENSES}/pools/{it['pool']}/allocations",
                                   {"assignee_type": "device", "assignee_id": it["device"]})
        if kind == "reclaim":
            return w.it_admin.call("POST", f"{LICENSES}/allocations/{it['allocation']}/reclaim",
                                   {"reason": "模型回收"})
        if kind == "reclaim_run":
            return w.it_admin.call("POST", f"{LICENSES}/reclaim-runs", {
                "org_id": w.units[args[0]].org_id, "inactive_days": 1, "max_seats": args[1], "dry_run": False})
        if kind == "seat_transfer":
            return w.it_admin.call("POST", f"{LICENSES}/transfers", {
                "from_pool_id": it["pool"], "to_org_id": w.units[1 - args[0]].org_id, "seats": args[1],
                "reason": "模型调配"})
        if kind == "offer":
            return w.suppliers[args[0]][1].call(
                "POST", f"{PROCUREMENT}/campaigns/{self.campaign['id']}/offers",
                {"items": [{"item_id": self.campaign["item"], "unit_price_fen": args[1]}]})
        if kind == "close_offers":
            return w.lead.call("POST", f"{PROCUREMENT}/campaigns/{self.campaign['id']}/close-offers")
        raise AssertionError(f"unknown command {command}")

    def apply(self, command: tuple, it: dict, resp: httpx.Response) -> None:
        """The model's change for a 2xx answer."""
        kind, args, body = command[0], command[1:], resp.json() if resp.content else None
        if kind == "new_line":
            self.add_line(args[0], body)
        elif kind == "adjust":
            it["line"]["adjusted"] += args[1]
            it["line"]["adjustments"] += 1
        elif kind == "transfer":
            assert body["status"] == "approved", body
            it["source"]["adjusted"] -= args[2]
            it["target"]["adjusted"] += args[2]
        elif kind == "order":
            assert resp.status_code == 202 and body["status"] == "pending_budget", body
            line = it["line"]
            self.orders.append({"id": body["id"], "line": line["id"], "unit": line["unit"], "org": line["org"],
                                "quantity": args[1], "amount": args[1] * AGREED_FEN, "cancelled": False,
                                "delivered": False})
        elif kind in ("cancel", "deliver"):
            order = it["order"]
            assert not (order["cancelled"] or order["delivered"]), f"a second end of order {order}: {body}"
            order["cancelled" if kind == "cancel" else "delivered"] = True
            assert body["status"] == ("cancelled" if kind == "cancel" else "delivered"), body
            if kind == "deliver":
                self.world.delivered_seats[order["org"]] += order["quantity"]
        elif kind == "allocate":
            assert body["status"] == "active" and body["pool_id"] == it["pool"], body
            if resp.status_code == 201:
                assert body["id"] not in self.active and body["id"] not in self.reclaimed, f"a seat twice: {body}"
            self.active[body["id"]] = body["pool_id"]
        elif kind == "reclaim":
            assert body["status"] == "reclaimed" and body["id"] == it["allocation"], body
            assert it["allocation"] in self.active, f"a seat reclaimed twice: {body}"
            del self.active[it["allocation"]]
            self.reclaimed.add(it["allocation"])
        elif kind == "reclaim_run":
            for seat in body["seats"]:
                assert seat["allocation_id"] not in self.reclaimed, f"a seat reclaimed twice: {seat}"
                if seat["allocation_id"] in self.active:  # else a seat of an earlier example in this org
                    del self.active[seat["allocation_id"]]
                    self.reclaimed.add(seat["allocation_id"])
        elif kind == "seat_transfer":
            self.pools[body["from_pool_id"]]["total"] -= body["seats"]
            target = self.pools.setdefault(body["to_pool_id"], {"org": body["to_org_id"], "unit": 1 - args[0],
                                                                 "total": 0})
            target["total"] += body["seats"]
        elif kind == "offer":
            assert self.campaign["open"], f"an offer accepted after offers closed: {body}"
            self.offers[args[0]].append(args[1])
        elif kind == "close_offers":
            self.campaign["open"] = False

    @rule(batch=st.lists(COMMAND, min_size=1, max_size=3))
    @explained
    def run(self, batch):
        """The batch's commands at once, each from its own thread."""
        resolved = [(command, self.resolve(command)) for command in batch]
        resolved = [(command, it) for command, it in resolved if it is not None]  # nothing to act on
        if not resolved:
            return
        with ThreadPoolExecutor(len(resolved)) as pool:
            answers = list(pool.map(lambda c: self.send(*c), resolved))
        # The commands of a batch took effect in an order the answers do not tell: a reclaim run may
        # take the seat an allocation beside it just made, an offer may come just before the close.
        # What makes is applied before what ends.
        answered = sorted(zip(resolved, answers, strict=True), key=lambda a: a[0][0][0] in ENDING)
        offered = {n: len(prices) for n, prices in self.offers.items()}
        for (command, it), resp in answered:
            self.log.append(f"{command} → {resp.status_code}")
            assert resp.status_code < 500, f"{command}: {resp.status_code} {resp.text[:500]}"
            if resp.status_code >= 400:
                assert resp.status_code in REFUSALS, f"{command}: {resp.status_code} {resp.text[:500]}"
                assert resp.headers["content-type"].startswith("application/problem+json"), resp.text[:300]
                assert resp.json()["status"] == resp.status_code, resp.text[:300]
                continue
            self.apply(command, it, resp)
        for n, before in offered.items():
            if len(self.offers[n]) > before:
                self.last_offers[n] = set(self.offers[n][before:])

    # --- what must be true after every batch -------------------------------------------------

    @invariant()
    @explained
    def sealed_until_close(self):
        """While offers are open, no supplier reads a rival's price, wherever it looks."""
        if not self.campaign or not self.campaign["open"]:
            return
        path = f"{PROCUREMENT}/campaigns/{self.campaign['id']}"
        for n, (_, supplier) in enumerate(self.world.suppliers):
            rival = set(self.offers[1 - n]) - set(self.offers[n])
            if not rival:
                continue
            for read in (path, f"{path}/offers", f"{path}/history", f"{path}/ocds"):
                resp = supplier.call("GET", read)
                assert resp.status_code in (200, 403, 404), f"{read}: {resp.status_code} {resp.text[:300]}"
                seen = ints_in(resp.json()) & rival
                assert not seen, f"supplier {n} reads its rival's price {seen} at {read} before close"

    @invariant()
    @explained
    def offers_visible_once_after_close(self):
        if not self.campaign or self.campaign["open"]:
            return
        offers = self.world.lead.all(f"{PROCUREMENT}/campaigns/{self.campaign['id']}/offers")
        for n, (org, _) in enumerate(self.world.suppliers):
            mine = [o for o in offers if o["supplier_org_id"] == org]
            if self.offers[n]:
                prices = ints_in(mine)
                assert self.last_offers[n] & prices, \
                    f"supplier {n}'s last offer (one of {self.last_offers[n]}, of {self.offers[n]}) not in {mine}"
            else:
                assert not mine, f"supplier {n} made no offer, yet {mine}"

    @invariant()
    @explained
    def money_per_line(self):
        if not self.lines:
            return
        w = self.world
        # The budget answers each order by an event: wait until none is pending.
        (orders,) = eventually(lambda: (found := self.settled_orders()) is not None and (found,),
                               "every order answered by the budget")
        for line in self.lines:
            mine = [orders[o["id"]] for o in self.orders if o["line"] == line["id"]]
            want = (line["approved"], line["adjusted"], 0,
                    sum(o["amount_fen"] for o in mine if o["status"] == "confirmed"),
                    sum(o["amount_fen"] for o in mine if o["status"] == "delivered"))

            def at_want(line=line, want=want):
                got = self.ok(w.finance.call("GET", f"{BUDGET}/lines/{line['id']}"))
                return got if self.figures(got) == want else None

            # Spending and releases follow their events: the figures may trail the orders a moment.
            got = eventually(at_want, f"line {line['id']} at {want} (approved, adjusted, pre-encumbered, reserved, "
                                      f"spent), as the 2xx answers made it")
            approved, adjusted, pre, reserved, spent = self.figures(got)
            assert got["available_fen"] == approved + adjusted - pre - reserved - spent >= 0, got
            entries = w.finance.all(f"{BUDGET}/lines/{line['id']}/entries")
            sums = Counter()
            for entry in entries:
                sums[entry["kind"]] += entry["amount_fen"]
            assert sums["approve"] == approved and sums["adjust"] + sums["transfer"] == adjusted, (sums, got)
            assert sums["reserve"] + sums["release"] == reserved and sums["spend"] == spent, (sums, got)
            assert sum(e["kind"] == "adjust" for e in entries) == line["adjustments"], entries
            keys = [(e["kind"], e["ref_id"]) for e in entries if e["ref_id"]]
            assert len(keys) == len(set(keys)), f"an effect applied twice on line {line['id']}: {entries}"
        for n, unit in enumerate(w.units):
            listed = Counter(x["id"] for x in w.finance.all(f"{BUDGET}/lines", org_id=unit.org_id, fiscal_year=2026))
            for line in self.lines:
                if line["unit"] == n:
                    assert listed[line["id"]] == 1, f"line {line['id']} listed {listed[line['id']]} times"
            placed = Counter(o["id"] for o in unit.editor.all(f"{PROCUREMENT}/orders", org_id=unit.org_id))
            for order in self.orders:
                if order["unit"] == n:
                    assert placed[order["id"]] == 1, f"order {order['id']} listed {placed[order['id']]} times"

    @staticmethod
    def figures(line: dict) -> tuple:
        return tuple(line[f] for f in ("approved_fen", "adjusted_fen", "pre_encumbered_fen", "reserved_fen",
                                       "spent_fen"))

    def settled_orders(self) -> dict[str, dict] | None:
        found = {}
        for order in self.orders:
            got = self.ok(self.world.units[order["unit"]].editor.call("GET", f"{PROCUREMENT}/orders/{order['id']}"))
            if got["status"] == "pending_budget":
                return None
            # The agreement's price, as the order was placed: what the line holds is checked against it.
            assert (got["quantity"], got["amount_fen"]) == (order["quantity"], order["amount"]), (got, order)
            want = "cancelled" if order["cancelled"] else "delivered" if order["delivered"] else None
            assert want is None or got["status"] == want, f"order {order} is {got['status']}"
            assert got["status"] != "delivered" or order["delivered"], f"delivered with no 2xx delivery: {got}"
            assert got["status"] != "cancelled" or order["cancelled"], f"cancelled with no 2xx cancel: {got}"
            found[order["id"]] = got
        return found

    @invariant()
    @explained
    def seats_per_pool(self):
        w = self.world
        for pool_id, want in self.pools.items():
            pool = self.ok(w.it_admin.call("GET", f"{LICENSES}/pools/{pool_id}"))
            allocations = w.it_admin.all(f"{LICENSES}/allocations", pool_id=pool_id)
            active = Counter(a["id"] for a in allocations if a["status"] == "active")
            mine = {a for a, p in self.active.items() if p == pool_id}
            assert set(active) == mine and all(n == 1 for n in active.values()), (pool_id, active, mine)
            assert pool["total"] == want["total"], (pool, want)
            assert pool["allocated"] == len(mine) <= pool["total"], pool
            assert pool["available"] == pool["total"] - pool["allocated"], pool

    @invariant()
    @explained
    def each_delivery_arrives_once_as_seats(self):
        w = self.world
        for org, seats in w.delivered_seats.items():
            eventually(lambda org=org, seats=seats: sum(p["total"] for p in w.it_admin.all(
                f"{LICENSES}/pools", org_id=org, product_id=w.product_id)) == seats,
                f"{seats} delivered seats in org {org}'s pool")



def test_a_model_of_money_seats_and_sealed_offers_holds_under_random_concurrent_commands(stack):
    started = time.monotonic()
    Model.world = build_world(stack)
    built = time.monotonic() - started
    run_state_machine_as_test(Model, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None, print_blob=True,
        suppress_health_check=list(HealthCheck)))
    print(f"model: {EXAMPLES} examples of up to {STEPS} batches, world built in {built:.0f} s, "
          f"{time.monotonic() - started:.0f} s in all")
