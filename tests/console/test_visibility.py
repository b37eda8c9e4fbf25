"""SPEC's visibility table in the console's campaign pages, in Chromium: one campaign driven through
two rounds, a panel, the award and orders with distinct marker values (each supplier's prices per
round, each score, each unit's demand quantity, each unit's order), then read by an invited losing
supplier, a participant unit and a panel member: the markers each may see are on its pages, and the
ones it must not see are not (tests/procurement/test_confidentiality.py is the API's side)."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import sign_in, username
from zhengban.demo.client import wait_until
from zhengban.demo.scenario import PASSWORD

pytestmark = pytest.mark.slow

PRICES = {("kingsoft", 1): 57_317, ("yozo", 1): 58_123, ("kingsoft", 2): 49_831, ("yozo", 2): 55_229}
DEMANDS = {"school_1": 1013, "health": 517}  # aggregated: 1530
SCORES = {"kingsoft": 93, "yozo": 77}
CAP = 60_000


def shown(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def has_number(text: str, number: int | str) -> bool:
    """A number standing alone in the text, not a piece of a longer one (a time, an amount)."""
    return re.search(rf"(?<![\d.,]){re.escape(str(number))}(?![\d.,])", text) is not None


def campaign_through_orders(demo) -> dict:
    lead, finance = demo.user("centre", "procurement", label="采购中心 经办"), \
        demo.user("finance", "finance", label="省财政厅 财务审批")
    kingsoft = demo.user("kingsoft", "supplier", label="金山办公 投标")
    yozo = demo.user("yozo", "supplier", label="永中软件 投标")
    product = lead.post("/api/v1/procurement/products", {
        "vendor": "金山办公", "name": "WPS Office", "edition": f"保密测试版 {demo.made.tag}", "category": "office",
        "metric": "device", "term_months": 12, "domestic": True})
    lines = {}
    for key, quantity in DEMANDS.items():
        line = demo.unit(key).post("/api/v1/budget/lines", {
            "org_id": demo.org_id(key), "fiscal_year": 2026, "category": "office", "title": "保密测试采购",
            "quantity": quantity, "unit_price_fen": CAP})
        demo.unit(key).post(f"/api/v1/budget/lines/{line['id']}/submit")
        finance.post(f"/api/v1/budget/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})
        lines[key] = line
    campaign = lead.post("/api/v1/procurement/campaigns", {
        "title": "保密测试联合采购", "lead_org_id": demo.org_id("centre"), "fiscal_year": 2026,
        "participant_org_ids": [demo.org_id(k) for k in DEMANDS],
        "items": [{"product_id": product["id"], "cap_unit_price_fen": CAP}], "min_offers": 2, "standstill_days": 0})
    path, item = f"/api/v1/procurement/campaigns/{campaign['id']}", campaign["items"][0]["id"]
    lead.post(f"{path}/open-demand")
    for key, quantity in DEMANDS.items():
        demo.unit(key).post(f"{path}/demands", {"org_id": demo.org_id(key), "item_id": item, "quantity": quantity,
                                                "budget_line_id": lines[key]["id"]})
    wait_until(lambda: all(d["status"] == "accepted" for d in lead.all(f"{path}/demands")), what="demands accepted")
    lead.post(f"{path}/lock-demand")
    lead.post(f"{path}/open-offers", {"supplier_org_ids": [demo.org_id("kingsoft"), demo.org_id("yozo")]})
    for supplier, actor in (("kingsoft", kingsoft), ("yozo", yozo)):
        actor.post(f"{path}/offers", {"items": [{"item_id": item, "unit_price_fen": PRICES[supplier, 1]}]})
    return {"campaign": campaign, "path": path, "item": item, "lines": lines, "lead": lead,
            "suppliers": {"kingsoft": kingsoft, "yozo": yozo}}


def panelist(demo, n: int):
    """A negotiator of the SOE group: outside the lead's subtree, so it reads as a panel member only
    (the lead's own negotiators read everything of their campaigns)."""
    name = f"panel-{n}-{demo.made.tag}"
    demo.admin.post("/api/v1/identity/users", {"username": name, "password": PASSWORD,
                                               "org_id": demo.org_id("energy"), "roles": ["negotiator"]})
    return demo.api.as_(demo.api.token(name, PASSWORD))


def award_and_order(demo, made: dict) -> dict:
    lead, path, item = made["lead"], made["path"], made["item"]
    lead.post(f"{path}/close-offers")
    lead.post(f"{path}/rounds")
    for supplier, actor in made["suppliers"].items():
        actor.post(f"{path}/offers", {"items": [{"item_id": item, "unit_price_fen": PRICES[supplier, 2]}]})
    lead.post(f"{path}/close-offers")
    panel = [panelist(demo, n) for n in (1, 2, 3)]
    lead.post(f"{path}/panel", {"member_user_ids": [expert.get("/api/v1/identity/me")["id"] for expert in panel]})
    for expert in panel:
        for supplier, score in SCORES.items():
            expert.post(f"{path}/evaluations", {"supplier_org_id": demo.org_id(supplier), "score": score,
                                                "recommend": True})
    agreement = lead.post(f"{path}/award", {"supplier_org_id": demo.org_id("kingsoft")})["agreement_id"]
    orders = {key: demo.unit(key).post("/api/v1/procurement/orders", {
        "agreement_id": agreement, "item_id": item, "quantity": quantity, "budget_line_id": made["lines"][key]["id"],
        "org_id": demo.org_id(key)}) for key, quantity in (("school_1", 3), ("health", 2))}
    return {"agreement": agreement, "orders": orders, "expert": f"panel-1-{demo.made.tag}"}


def reading(browser, stack, user: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """path → (the main text, the page's HTML) as `user` reads it."""
    context = browser.new_context(base_url=stack.url, locale="zh-CN")
    page = context.new_page()
    sign_in(page, user)
    found = {}
    for path in paths:
        assert page.goto(path).status == 200, path
        found[path] = (page.locator("main").inner_text(), page.content())
    context.close()
    return found


def test_the_campaign_pages_show_each_reader_only_what_spec_lets_it_see(browser, stack, demo):
    made = campaign_through_orders(demo)
    page = f"/console/campaigns/{made['campaign']['id']}"
    names = {key: demo.made.orgs[key].name for key in ("kingsoft", "yozo", "school_1", "health")}
    loser = username(demo, "yozo", "supplier")

    # Before the award, an invited supplier reads its own price only, and no other supplier's name.
    text, _ = reading(browser, stack, loser, [page])[page]
    assert shown(PRICES["yozo", 1]) in text and names["yozo"] in text
    assert shown(PRICES["kingsoft", 1]) not in text and names["kingsoft"] not in text
    assert not any(has_number(text, q) for q in DEMANDS.values())
    assert not any(has_number(text, shown(q * CAP)) for q in DEMANDS.values())

    after = award_and_order(demo, made)
    orders = {key: order["id"] for key, order in after["orders"].items()}
    scores = lambda text: [s for s in SCORES.values() if has_number(text, s)]  # noqa: E731

    # The losing supplier, after the award: the winner and the unified price, its own offers; never
    # the winner's offers, scores, the panel, units' demands or any order.
    read = reading(browser, stack, loser, [page, "/console/orders", "/console/agreements"])
    text, html = read[page]
    assert names["kingsoft"] in text and shown(PRICES["kingsoft", 2]) in text  # the winner, the unified price
    assert shown(PRICES["yozo", 1]) in text and shown(PRICES["yozo", 2]) in text  # its own offers
    assert shown(PRICES["kingsoft", 1]) not in text and scores(text) == [] and 'id="evaluations"' not in html
    assert after["expert"] not in text and username(demo, "kingsoft", "supplier") not in text
    assert not any(has_number(text, q) for q in DEMANDS.values())
    for path in ("/console/orders", "/console/agreements"):
        text, html = read[path]
        assert not any(order in html for order in orders.values()), path
        assert names["school_1"] not in text and names["health"] not in text, path

    # A participant unit: the aggregated demand and its own demand and order; not the other unit's,
    # nor scores; the offers, now that they are closed.
    unit = username(demo, "health", "budget_editor", "procurement")
    read = reading(browser, stack, unit, [page, "/console/orders"])
    text, html = read[page]
    assert has_number(text, sum(DEMANDS.values())) and has_number(text, DEMANDS["health"])
    assert not has_number(text, DEMANDS["school_1"]) and shown(DEMANDS["school_1"] * CAP) not in text
    assert shown(PRICES["yozo", 2]) in text and shown(PRICES["kingsoft", 1]) in text
    assert scores(text) == [] and after["expert"] not in text
    text, html = read["/console/orders"]
    assert orders["health"] in html and orders["school_1"] not in html

    # A panel member: the offers, the panel and its scores; no unit's demand and no order.
    read = reading(browser, stack, after["expert"], [page, "/console/orders"])
    text, html = read[page]
    assert all(shown(price) in text for price in PRICES.values())
    assert after["expert"] in text  # the panel, named to its members
    evaluations = read[page][1]
    assert 'id="evaluations"' in evaluations and scores(text) == list(SCORES.values())
    assert has_number(text, sum(DEMANDS.values()))
    assert not any(has_number(text, q) for q in DEMANDS.values())
    text, html = read["/console/orders"]
    assert not any(order in html for order in orders.values())

    # The winner: the orders under its agreement, each unit's, without the units' budget lines.
    winner = username(demo, "kingsoft", "supplier")
    text, html = reading(browser, stack, winner, ["/console/orders"])["/console/orders"]
    assert all(order in html for order in orders.values())
    assert not any(line["id"] in html for line in made["lines"].values())
