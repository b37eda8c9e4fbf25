"""How to make, through the public API, an object of one org for every operation that takes an id.

Each maker returns a Target: the org that owns the object, the path parameters that name it, and
hints for request bodies (ids of related objects). The authorization matrix looks a maker up by
the operation's path; an operation with no maker fails the matrix, so a new endpoint must come
with one.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.security.world import World
from zhengban.builder import Builder, Campaign
from zhengban.demo.client import Api, wait_until


@dataclass
class Target:
    owner: str  # the World org the object belongs to
    params: dict[str, str]  # path parameter → value
    hints: dict = field(default_factory=dict)  # request body fields by name
    addressed: str | None = None  # the supplier org the object is addressed to, if any
    # Outcomes that differ from the generic rule, by (operation key, relation), with the reason in
    # a comment where they are set.
    expect: dict[tuple[str, str], object] = field(default_factory=dict)


MAKERS: list[tuple[re.Pattern, Callable[[World], Target]]] = []


def makes(pattern: str):
    def register(fn: Callable[[World], Target]):
        MAKERS.append((re.compile(pattern), fn))
        return fn

    return register


def maker_for(path: str) -> Callable[[World], Target] | None:
    """The maker of the most specific pattern that matches: an operation that needs its object in
    a particular state (a submitted line to approve) has a maker of its own."""
    found = [(pattern, fn) for pattern, fn in MAKERS if pattern.search(path)]
    return max(found, key=lambda match: len(match[0].pattern))[1] if found else None


# --- identity and the kernel's routes --------------------------------------------------------

@makes(r"^/api/v1/(identity|budget|procurement|licenses)/orgs/\{org_id\}")
def an_org(world: World) -> Target:
    return Target("dept_a", {"org_id": world.org_id("dept_a")}, hints={"name": "第一处"})


@makes(r"^/api/v1/identity/api-keys/\{key_id\}$")
def an_api_key(world: World) -> Target:
    key = world.ok("POST", "/api/v1/identity/api-keys", world.admin,
                   json={"name": "matrix", "org_id": world.org_id("dept_a"), "roles": ["it_admin"]})
    return Target("dept_a", {"key_id": key["id"]})


@makes(r"^/api/v1/identity/webhooks/\{webhook_id\}")
def a_webhook(world: World) -> Target:
    hook = world.ok("POST", "/api/v1/identity/webhooks", world.admin,
                    json={"org_id": world.org_id("dept_a"), "url": "https://hooks.example.cn/matrix",
                          "events": ["licenses.pool.low"]})
    # SPEC: webhooks are the admin's over the org; an auditor reads the audit log, not where a
    # subtree's events are sent.
    reads = ("GET /api/v1/identity/webhooks/{webhook_id}", "GET /api/v1/identity/webhooks/{webhook_id}/deliveries")
    return Target("dept_a", {"webhook_id": hook["id"]}, expect={(key, "auditor"): 403 for key in reads})


@makes(r"^/api/v1/identity/users/\{user_id\}")
def a_user(world: World) -> Target:
    user = world.ok("POST", "/api/v1/identity/users", world.admin,
                    json={"username": f"matrix-{uuid.uuid4().hex[:12]}", "password": "Matrix-pass-2026",
                          "org_id": world.org_id("dept_a"), "roles": ["budget_editor"]})
    return Target("dept_a", {"user_id": user["id"]}, hints={"display_name": "矩阵"})


# --- budget ---------------------------------------------------------------------------------

@makes(r"^/api/v1/budget/lines/\{line_id\}")
def a_budget_line(world: World) -> Target:
    line = world.ok("POST", "/api/v1/budget/lines", world.admin, json={
        "org_id": world.org_id("dept_a"), "fiscal_year": 2026, "category": "office", "title": "matrix",
        "quantity": 2, "unit_price_fen": 50_000})
    return Target("dept_a", {"line_id": line["id"]}, hints={"approved_fen": 1_000, "delta_fen": 1_000})


def _submitted_line(world: World, org: str = "dept_a") -> dict:
    line = world.ok("POST", "/api/v1/budget/lines", world.admin, json={
        "org_id": world.org_id(org), "fiscal_year": 2026, "category": "office", "title": "matrix",
        "quantity": 2, "unit_price_fen": 50_000})
    return world.ok("POST", f"/api/v1/budget/lines/{line['id']}/submit", world.as_(org, "budget_editor"))


def _approved_line(world: World, org: str = "dept_a") -> dict:
    line = _submitted_line(world, org)
    return world.ok("POST", f"/api/v1/budget/lines/{line['id']}/approve", world.admin,
                    json={"approved_fen": line["requested_fen"]})


@makes(r"^/api/v1/budget/lines/\{line_id\}/(approve|reject|return|control)$")
def a_submitted_line(world: World) -> Target:
    return Target("dept_a", {"line_id": _submitted_line(world)["id"]},
                  hints={"approved_fen": 1_000, "control_fen": 1_000})


@makes(r"^/api/v1/budget/lines/\{line_id\}/(close|adjustments)$")
def an_approved_line(world: World) -> Target:
    return Target("dept_a", {"line_id": _approved_line(world)["id"]}, hints={"delta_fen": 1_000})


@makes(r"^/api/v1/budget/policies/\{org_id\}$")
def a_policy(world: World) -> Target:
    return Target("dept_a", {"org_id": world.org_id("dept_a")},
                  hints={"caps": {"office": 60_000}, "special_caps": {}, "decentralized_threshold_fen": 60_000_000})


@makes(r"^/api/v1/budget/fiscal-years/\{fiscal_year\}/close$")
def a_fiscal_year(world: World) -> Target:
    # The year's object is the org subtree named in the body; a year of its own, so that closing it
    # closes no line another operation of the matrix needs approved.
    return Target("dept_a", {"fiscal_year": "2099"}, hints={"org_id": world.org_id("dept_a")})


@makes(r"^/api/v1/budget/transfers/\{transfer_id\}")
def a_budget_transfer(world: World) -> Target:
    source, target = _approved_line(world), _approved_line(world)
    transfer = world.ok("POST", "/api/v1/budget/transfers", world.as_("dept_a", "budget_editor"), json={
        "from_line_id": source["id"], "to_line_id": target["id"], "amount_fen": 1_000, "reason": "matrix"})
    return Target("dept_a", {"transfer_id": transfer["id"]}, hints={"reason": "matrix"})


# --- licenses -------------------------------------------------------------------------------

def _pool(world: World) -> dict:
    entitlement = world.ok("POST", "/api/v1/licenses/entitlements", world.admin, json={
        "org_id": world.org_id("dept_a"), "product_name": "WPS Office", "vendor": "金山办公", "category": "office",
        "metric": "device", "quantity": 5, "source": "manual"})
    return world.ok("GET", f"/api/v1/licenses/pools/{entitlement['pool_id']}", world.admin)


def _device(world: World) -> dict:
    import uuid

    return world.ok("POST", "/api/v1/licenses/devices", world.admin, json={
        "org_id": world.org_id("dept_a"), "asset_tag": f"M-{uuid.uuid4().hex[:8]}", "hostname": "pc",
        "kind": "desktop"})


@makes(r"^/api/v1/licenses/pools/\{pool_id\}")
def a_pool(world: World) -> Target:
    # A seat goes only to a registered device of the pool's subtree.
    return Target("dept_a", {"pool_id": _pool(world)["id"]},
                  hints={"low_threshold": 1, "assignee_id": _device(world)["id"]})


@makes(r"^/api/v1/licenses/allocations/\{allocation_id\}")
def an_allocation(world: World) -> Target:
    pool = _pool(world)
    allocation = world.ok("POST", f"/api/v1/licenses/pools/{pool['id']}/allocations", world.admin,
                          json={"assignee_type": "device", "assignee_id": _device(world)["id"]})
    return Target("dept_a", {"allocation_id": allocation["id"]})


@makes(r"^/api/v1/licenses/devices/\{device_id\}")
def a_device(world: World) -> Target:
    device = _device(world)
    world.ok("POST", f"/api/v1/licenses/devices/{device['id']}/inventory", world.admin, json={"software": []})
    return Target("dept_a", {"device_id": device["id"]})


@makes(r"^/api/v1/licenses/catalogue/\{title_id\}")
def a_title(world: World) -> Target:
    import uuid

    title = world.ok("POST", "/api/v1/licenses/catalogue", world.admin, json={
        "vendor": "矩阵测试", "name": f"内部系统 {uuid.uuid4().hex[:8]}", "category": "business",
        "licensing": "commercial"})
    # The catalogue is one for the installation: anyone signed in reads it, an it_admin of any org
    # extends it, a supplier does not.
    reads = ("GET /api/v1/licenses/catalogue/{title_id}", "GET /api/v1/licenses/catalogue/{title_id}/history")
    extend = "POST /api/v1/licenses/catalogue/{title_id}/patterns"
    expect = {(key, relation): "allowed"
              for key in reads for relation in ("sibling", "child", "supplier not addressed")}
    expect |= {(extend, "sibling"): "allowed", (extend, "child"): "allowed", (extend, "supplier not addressed"): 403}
    return Target("dept_a", {"title_id": title["id"]}, hints={"pattern": f"矩阵测试 {uuid.uuid4().hex[:8]}"},
                  expect=expect)


@makes(r"^/api/v1/licenses/reclaim-runs/\{run_id\}$")
def a_reclaim_run(world: World) -> Target:
    run = world.ok("POST", "/api/v1/licenses/reclaim-runs", world.admin, json={
        "org_id": world.org_id("dept_a"), "inactive_days": 30, "max_seats": 5, "dry_run": True})
    return Target("dept_a", {"run_id": run["id"]})


@makes(r"^/api/v1/licenses/transfers/\{transfer_id\}$")
def a_transfer(world: World) -> Target:
    pool = _pool(world)
    transfer = world.ok("POST", "/api/v1/licenses/transfers", world.admin, json={
        "from_pool_id": pool["id"], "to_org_id": world.org_id("school_a1"), "seats": 1, "reason": "matrix"})
    return Target("dept_a", {"transfer_id": transfer["id"]})


# Oversight: install requests, annual reports, findings (all of dept_a).
TITLE_ID = "bd860b8e-ad7e-57ef-a19b-ccdd71dda444"  # 永中Office, a shipped catalogue title


@makes(r"^/api/v1/licenses/install-requests/\{request_id\}")
def an_install_request(world: World) -> Target:
    pool = _pool(world)
    request = world.ok("POST", "/api/v1/licenses/install-requests", world.admin, json={
        "device_id": _device(world)["id"], "title_id": TITLE_ID, "kind": "install", "reason": "matrix"})
    return Target("dept_a", {"request_id": request["id"]}, hints={"pool_id": pool["id"]})


# One report per org and year: each report the matrix makes is of another year.
REPORT_YEARS = itertools.count(datetime.now(UTC).year, -1)


@makes(r"^/api/v1/licenses/annual-reports/\{report_id\}")
def an_annual_report(world: World) -> Target:
    report = world.ok("POST", "/api/v1/licenses/annual-reports", world.admin, json={
        "org_id": world.org_id("dept_a"), "year": next(REPORT_YEARS), "responsible_person": "matrix",
        "phone": "010-1"})
    return Target("dept_a", {"report_id": report["id"]})


def _finding(world: World) -> dict:
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    return world.ok("POST", "/api/v1/licenses/findings", world.admin, json={
        "org_id": world.org_id("dept_a"), "description": "matrix", "due_date": due})


@makes(r"^/api/v1/licenses/findings/\{finding_id\}")
def a_finding(world: World) -> Target:
    return Target("dept_a", {"finding_id": _finding(world)["id"]})


@makes(r"^/api/v1/licenses/findings/\{finding_id\}/(verify|reopen)$")
def a_resolved_finding(world: World) -> Target:
    finding = _finding(world)
    world.ok("POST", f"/api/v1/licenses/findings/{finding['id']}/resolve", world.admin, json={"note": "matrix"})
    # Verifying and reopening are an auditor's writes (its one write, SPEC Identity): no other role's.
    key = "POST /api/v1/licenses/findings/{{finding_id}}/{tail}"
    return Target("dept_a", {"finding_id": finding["id"]},
                  expect={(key.format(tail=tail), relation): status for tail in ("verify", "reopen")
                          for relation, status in (("same org", 403), ("parent", 403), ("auditor", "allowed"))})


# --- procurement ----------------------------------------------------------------------------
# Campaigns belong to the SOE group `soe` (their lead), with enterprise_1 and enterprise_2 taking
# part; enterprise_3 (a child of the lead that does not take part) sees none of it.

PROCUREMENT = "/api/v1/procurement"
# Calls only an invited supplier makes: a supplier-role principal of the lead's own tree is not one.
SUPPLIER_ONLY = {"same org": 403, "parent": 403}


def _as(world: World, headers: dict[str, str]) -> Api:
    return Api(world.stack.url, headers)


def _campaign(world: World, *, standstill_days: int = 0) -> tuple[dict, dict]:
    """A draft campaign of one office item, built as the demo builds its own (zhengban.builder)."""
    admin = _as(world, world.admin)
    product = Builder.product(admin, vendor="金山办公", name="WPS", edition=uuid.uuid4().hex, category="office")
    campaign = Builder.campaign(admin, title="matrix", lead_org_id=world.org_id("soe"),
                                participant_org_ids=[world.org_id("enterprise_1"), world.org_id("enterprise_2")],
                                items=[(product["id"], 60_000)], standstill_days=standstill_days)
    return campaign.body, product


def _steps(world: World, campaign: dict) -> Campaign:
    """The builder's steps on `campaign`, taken by the installation's admin."""
    return Campaign(_as(world, world.admin), campaign)


def _tendering(world: World, campaign: dict) -> None:
    steps = _steps(world, campaign)
    steps.open_demand()
    steps.lock_demand()
    steps.open_offers([world.org_id("supplier_x")])


def _offers_closed(world: World, *, standstill_days: int = 0) -> dict:
    campaign, _ = _campaign(world, standstill_days=standstill_days)
    _tendering(world, campaign)
    _steps(world, campaign).tender([[(_as(world, world.as_("supplier_x", "supplier")), [50_000])]])
    return campaign


def _evaluated(world: World, *, standstill_days: int = 0) -> dict:
    campaign = _offers_closed(world, standstill_days=standstill_days)
    members = [world.new_key("soe", "negotiator") for _ in range(3)]
    _steps(world, campaign).evaluate([(_as(world, headers), subject) for headers, subject in members],
                                     {world.org_id("supplier_x"): 80})
    return campaign


def _awarded(world: World, *, standstill_days: int = 0) -> dict:
    campaign = _evaluated(world, standstill_days=standstill_days)
    return _steps(world, campaign).award(world.org_id("supplier_x"))


def _campaign_hints(world: World, campaign: dict) -> dict:
    item = campaign["items"][0]["id"]
    return {"org_id": world.org_id("enterprise_1"), "item_id": item, "supplier_org_ids": [world.org_id("supplier_y")],
            "items": [{"item_id": item, "unit_price_fen": 40_000}], "supplier_org_id": world.org_id("supplier_x"),
            "member_user_ids": [str(uuid.UUID(int=n)) for n in (1, 2, 3)], "quantity": 1}


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/complaints/\{complaint_id\}")
def a_complaint(world: World) -> Target:
    campaign = _awarded(world, standstill_days=5)
    complaint = world.ok("POST", f"{PROCUREMENT}/campaigns/{campaign['id']}/complaints",
                         world.as_("supplier_x", "supplier"), json={"reason": "matrix"})
    return Target("soe", {"campaign_id": campaign["id"], "complaint_id": complaint["id"]},
                  hints={"upheld": False, "resolution": "matrix"}, addressed="supplier_x")


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/demands/\{demand_id\}$")
def a_demand(world: World) -> Target:
    campaign, _ = _campaign(world)
    world.ok("POST", f"{PROCUREMENT}/campaigns/{campaign['id']}/open-demand", world.admin)
    demand = world.ok("POST", f"{PROCUREMENT}/campaigns/{campaign['id']}/demands", world.admin, json={
        "org_id": world.org_id("enterprise_1"), "item_id": campaign["items"][0]["id"], "quantity": 3,
        "budget_line_id": "0190d6a2-0000-7000-8000-00000000000a"})
    return Target("soe", {"campaign_id": campaign["id"], "demand_id": demand["id"]})


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}")
def a_campaign(world: World) -> Target:
    campaign, _ = _campaign(world)
    _tendering(world, campaign)
    key = "{method} /api/v1/procurement/campaigns/{{campaign_id}}/{tail}"
    expect = {(key.format(method="POST", tail=tail), relation): status
              for tail in ("offers", "complaints") for relation, status in SUPPLIER_ONLY.items()}
    # Evaluating takes a seat on the campaign's panel, which no role gives.
    expect |= {(key.format(method="POST", tail="evaluations"), relation): 403 for relation in ("same org", "parent")}
    # A supplier sees the campaign, but the unit a demand is declared for is not in its tree.
    expect[(key.format(method="POST", tail="demands"), "supplier addressed")] = 404
    return Target("soe", {"campaign_id": campaign["id"]}, hints=_campaign_hints(world, campaign),
                  addressed="supplier_x", expect=expect)


def _campaign_in(world: World, state: str) -> dict:
    """A campaign just before the step each operation takes: draft, demand open or demand locked."""
    campaign, _ = _campaign(world)
    if state in ("demand_open", "demand_locked"):
        _steps(world, campaign).open_demand()
    if state == "demand_locked":
        _steps(world, campaign).lock_demand()
    return campaign


def _campaign_target(world: World, campaign: dict, expect: dict | None = None, *, invited: bool = True) -> Target:
    # Before offers open no supplier is invited, and none sees the campaign.
    return Target("soe", {"campaign_id": campaign["id"]}, hints=_campaign_hints(world, campaign),
                  addressed="supplier_x" if invited else None, expect=expect or {})


CAMPAIGN_OP = "POST /api/v1/procurement/campaigns/{{campaign_id}}/{tail}"


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/open-demand$")
def a_draft_campaign(world: World) -> Target:
    return _campaign_target(world, _campaign_in(world, "draft"), invited=False)


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/(lock-demand|demands)$")
def a_campaign_taking_demand(world: World) -> Target:
    return _campaign_target(world, _campaign_in(world, "demand_open"), invited=False)


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/open-offers$")
def a_campaign_with_demand_locked(world: World) -> Target:
    return _campaign_target(world, _campaign_in(world, "demand_locked"), invited=False)


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/rounds$")
def a_campaign_with_offers_closed(world: World) -> Target:
    return _campaign_target(world, _offers_closed(world))


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/evaluations$")
def a_campaign_before_its_panel_evaluates(world: World) -> Target:
    # The same org's negotiator sits on the panel (with two others); the parent's does not, and
    # evaluating takes a seat on the panel, which no role gives.
    campaign = _offers_closed(world)
    members = [world.subject_of("soe", "negotiator"), world.new_key("soe", "negotiator")[1],
               world.new_key("soe", "negotiator")[1]]
    world.ok("POST", f"{PROCUREMENT}/campaigns/{campaign['id']}/panel", world.admin,
             json={"member_user_ids": members})
    return _campaign_target(world, campaign, {(CAMPAIGN_OP.format(tail="evaluations"), "parent"): 403})


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/award$")
def an_evaluated_campaign(world: World) -> Target:
    return _campaign_target(world, _evaluated(world))


@makes(r"^/api/v1/procurement/campaigns/\{campaign_id\}/complaints$")
def a_campaign_in_standstill(world: World) -> Target:
    # Only an invited supplier complains: a supplier-role principal of the lead's own tree is not one.
    return _campaign_target(world, _awarded(world, standstill_days=5),
                            {(CAMPAIGN_OP.format(tail="complaints"), relation): status
                             for relation, status in SUPPLIER_ONLY.items()})


@makes(r"^/api/v1/procurement/agreements/\{agreement_id\}/resume$")
def a_suspended_agreement(world: World) -> Target:
    campaign = _awarded(world)
    world.ok("POST", f"{PROCUREMENT}/agreements/{campaign['agreement_id']}/suspend", world.admin)
    return Target("soe", {"agreement_id": campaign["agreement_id"]}, addressed="supplier_x")


@makes(r"^/api/v1/procurement/agreements/\{agreement_id\}")
def an_agreement(world: World) -> Target:
    campaign = _awarded(world)
    return Target("soe", {"agreement_id": campaign["agreement_id"]}, addressed="supplier_x")


@makes(r"^/api/v1/procurement/orders/\{order_id\}")
def an_order(world: World) -> Target:
    campaign = _awarded(world)
    order = world.ok("POST", f"{PROCUREMENT}/orders", world.admin, json={
        "agreement_id": campaign["agreement_id"], "item_id": campaign["items"][0]["id"], "quantity": 2,
        "budget_line_id": "0190d6a2-0000-7000-8000-00000000000b", "org_id": world.org_id("enterprise_1")})
    key = "POST /api/v1/procurement/orders/{order_id}/deliver"
    return Target("enterprise_1", {"order_id": order["id"]}, addressed="supplier_x",
                  expect={(key, relation): 403 for relation in SUPPLIER_ONLY})


@makes(r"^/api/v1/procurement/orders/\{order_id\}/(deliver|cancel)$")
def a_confirmed_order(world: World) -> Target:
    # Delivery follows the budget's reservation, and a cancellation races it unless the budget has
    # answered: the order draws on a real approved line and is confirmed first.
    campaign = _awarded(world)
    line = _approved_line(world, "enterprise_1")
    order = world.ok("POST", f"{PROCUREMENT}/orders", world.admin, json={
        "agreement_id": campaign["agreement_id"], "item_id": campaign["items"][0]["id"], "quantity": 2,
        "budget_line_id": line["id"], "org_id": world.org_id("enterprise_1")})
    wait_until(lambda: world.ok("GET", f"{PROCUREMENT}/orders/{order['id']}", world.admin)["status"] == "confirmed",
               timeout=30, what="the order confirmed by the budget")
    key = "POST /api/v1/procurement/orders/{order_id}/deliver"
    return Target("enterprise_1", {"order_id": order["id"]}, addressed="supplier_x",
                  expect={(key, relation): 403 for relation in SUPPLIER_ONLY})


@makes(r"^/api/v1/procurement/products/\{product_id\}$")
def a_product(world: World) -> Target:
    _, product = _campaign(world)
    # The catalogue is shared by every org: anyone signed in reads it.
    key = "GET /api/v1/procurement/products/{product_id}"
    return Target("dept_a", {"product_id": product["id"]},
                  expect={(key, relation): "allowed" for relation in ("sibling", "child", "supplier not addressed")})
