"""Each role's own console, in Chromium against the real processes: every page each role can reach,
checked for accessibility, untranslated values and ids where names belong; and each role's main
flow: a supplier's sealed offer, a returned line edited and resubmitted, an agreement suspended and
resumed and an order placed under it, a reclaim that cannot redirect off the console."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import accessible, check_page, shoot, sign_in, username
from zhengban.demo.client import wait_until

pytestmark = pytest.mark.slow

DETAIL = re.compile(r"^/console/(budget/lines|campaigns|agreements|pools)/[0-9a-f-]{36}$")

def roles_of(demo) -> dict[str, tuple[str, set[str]]]:
    """name → (username, the areas its navigation offers)."""
    demo.user("school_1", "it_admin", label="信息中心")
    demo.user("finance", "auditor", label="省财政厅 审计（只读）")
    demo.user("finance", "finance", label="省财政厅 财务审批")
    return {
        "finance": (username(demo, "finance", "finance"),
                    {"待审批", "预算项目", "预算调剂", "预算政策", "预算执行汇总", "正版化检查"}),
        "unit": (username(demo, "school_1", "budget_editor", "procurement"),
                 {"预算项目", "预算调剂", "预算执行汇总", "联合采购", "框架协议", "订单", "数据导入"}),
        "lead": (username(demo, "centre", "procurement"), {"联合采购", "框架协议", "订单"}),
        "negotiator": (f"expert-1-{demo.made.tag}", {"联合采购", "框架协议"}),
        "supplier": (username(demo, "kingsoft", "supplier"), {"联合采购", "框架协议", "订单"}),
        "losing-supplier": (username(demo, "yozo", "supplier"), {"联合采购", "框架协议", "订单"}),
        "it-admin": (username(demo, "school_1", "it_admin"), {"授权池", "设备", "正版化检查", "软件目录", "未识别软件",
                                                               "数据导入", "软件安装申请", "年度报告", "整改事项"}),
        "auditor": (username(demo, "finance", "auditor"), {"待审批", "预算项目", "预算调剂", "预算政策", "预算执行汇总",
                                                           "联合采购", "框架协议", "订单", "授权池", "设备",
                                                           "正版化检查", "软件目录", "未识别软件", "审计日志",
                                                           "软件安装申请", "年度报告", "整改事项"}),
    }


def test_every_role_sees_its_own_pages_in_chinese_with_names_and_accessible(browser, stack, demo):
    problems, visited = [], 0
    for role, (user, areas) in roles_of(demo).items():
        context = browser.new_context(base_url=stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, user)
        nav = {a.inner_text(): a.get_attribute("href") for a in page.locator("header nav a").all()}
        assert set(nav) == areas, role
        roles_line = page.locator(".roles").inner_text()
        assert "角色" in roles_line and not re.search(r"[a-z_]{4,}", roles_line), roles_line  # roles in Chinese
        problems += check_page(page, "/console/")
        shoot(page, f"home-{role}")
        details = set()
        for href in nav.values():
            problems += check_page(page, href)
            visited += 1
            links = [a.get_attribute("href") for a in page.locator("main a[href]").all()]
            details |= {link for link in links if DETAIL.match(link or "")}
        for href in sorted(details)[:6]:
            problems += check_page(page, href)
            visited += 1
        if "联合采购" in areas:  # the panel is named to the lead's subtree (and auditors over it) only
            page.goto(f"/console/campaigns/{demo.made.campaign_id}")
            panel_shown = page.locator("#panel").count() == 1
            assert panel_shown == (role in ("lead", "negotiator")), role
        context.close()
    assert problems == []
    assert visited >= 40


def tendering_campaign(demo) -> dict:
    """A campaign of school_1 with offers open to both suppliers, made through the API."""
    lead, unit = demo.user("centre", "procurement", label="采购中心 经办"), demo.unit("school_1")
    finance = demo.user("finance", "finance", label="省财政厅 财务审批")
    product = lead.post("/api/v1/procurement/products", {
        "vendor": "金山办公", "name": "WPS Office", "edition": f"教育版 {demo.made.tag}", "category": "office",
        "metric": "device", "term_months": 12, "domestic": True})
    line = unit.post("/api/v1/budget/lines", {"org_id": demo.org_id("school_1"), "fiscal_year": 2026,
                                              "category": "office", "title": "教育版续订", "quantity": 5,
                                              "unit_price_fen": 60_000})
    unit.post(f"/api/v1/budget/lines/{line['id']}/submit")
    finance.post(f"/api/v1/budget/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})
    campaign = lead.post("/api/v1/procurement/campaigns", {
        "title": "2026 年教育版补充采购", "lead_org_id": demo.org_id("centre"), "fiscal_year": 2026,
        "participant_org_ids": [demo.org_id("school_1")],
        "items": [{"product_id": product["id"], "cap_unit_price_fen": 60_000}], "min_offers": 1,
        "standstill_days": 0})
    path = f"/api/v1/procurement/campaigns/{campaign['id']}"
    lead.post(f"{path}/open-demand")
    unit.post(f"{path}/demands", {"org_id": demo.org_id("school_1"), "item_id": campaign["items"][0]["id"],
                                  "quantity": 5, "budget_line_id": line["id"]})
    wait_until(lambda: all(d["status"] == "accepted" for d in lead.all(f"{path}/demands")), what="demand accepted")
    lead.post(f"{path}/lock-demand")
    lead.post(f"{path}/open-offers", {"supplier_org_ids": [demo.org_id("kingsoft"), demo.org_id("yozo")]})
    return campaign


def test_a_supplier_sends_a_sealed_offer_that_no_other_supplier_sees(browser, stack, demo):
    campaign = tendering_campaign(demo)
    seen = {}
    for supplier, price in (("kingsoft", "498.5"), ("yozo", "520")):
        context = browser.new_context(base_url=stack.url, locale="zh-CN")
        page = context.new_page()
        sign_in(page, username(demo, supplier, "supplier"))
        invitation = page.locator("section[aria-labelledby=todo-invitations]")
        assert "2026 年教育版补充采购" in invitation.inner_text() and "正在接受报价" in invitation.inner_text()
        page.get_by_role("link", name="2026 年教育版补充采购").first.click()
        field = page.get_by_label(re.compile("WPS Office 单价"))
        field.fill("1.005")  # money is exact: a third decimal is refused, not rounded
        page.get_by_role("button", name="提交报价").click()
        assert page.locator(".alert.error").inner_text() == "金额最多保留两位小数（分）"
        page.get_by_label(re.compile("WPS Office 单价")).fill(price)
        if supplier == "kingsoft":
            assert accessible(page) == []
            shoot(page, "offer")
        page.get_by_role("button", name="提交报价").click()
        page.wait_for_selector(".alert.ok")
        seen[supplier] = page.locator("#offers").inner_text()
        context.close()
    assert "498.50" in seen["kingsoft"] and "金山办公软件有限公司" in seen["kingsoft"]
    assert "520.00" in seen["yozo"] and "498.50" not in seen["yozo"] and "金山" not in seen["yozo"]
    offers = demo.user("centre", "procurement", label="采购中心 经办").get(
        f"/api/v1/procurement/campaigns/{campaign['id']}")
    assert offers["status"] == "tendering"
    api_offers = demo.user("kingsoft", "supplier", label="金山办公 投标").get(
        f"/api/v1/procurement/campaigns/{campaign['id']}/offers")
    items = api_offers["items"] if isinstance(api_offers, dict) else api_offers
    assert [i["unit_price_fen"] for o in items for i in o["items"]] == [49_850]  # exact fen, one offer


def test_a_returned_line_is_edited_and_resubmitted_and_a_double_post_makes_one_line(browser, stack, demo):
    demo.unit("school_2")
    editor = browser.new_context(base_url=stack.url, locale="zh-CN")
    page = editor.new_page()
    sign_in(page, username(demo, "school_2", "budget_editor", "procurement"))
    page.goto("/console/budget")
    form = page.locator("form[action='/console/budget/lines']")
    fields = {"csrf": form.locator("input[name=csrf]").get_attribute("value"),
              "form_key": form.locator("input[name=form_key]").get_attribute("value"),
              "org_id": demo.org_id("school_2"), "fiscal_year": "2027", "category": "office",
              "title": "双击也只建一条", "quantity": "3", "unit_price_yuan": "550.00"}
    first = page.request.post("/console/budget/lines", form=fields, max_redirects=0)
    again = page.request.post("/console/budget/lines", form=fields, max_redirects=0)
    assert first.status == again.status == 303
    made = [line for line in demo.admin.all("/api/v1/budget/lines", org_id=demo.org_id("school_2"))
            if line["title"] == "双击也只建一条"]
    assert len(made) == 1 and made[0]["requested_fen"] == 165_000
    line = made[0]
    demo.unit("school_2").post(f"/api/v1/budget/lines/{line['id']}/submit")

    finance = browser.new_context(base_url=stack.url, locale="zh-CN")
    approver = finance.new_page()
    sign_in(approver, username(demo, "finance", "finance"))
    approver.goto("/console/budget/queue")
    assert "双击也只建一条" in approver.locator("#queue").inner_text()
    approver.get_by_role("link", name="双击也只建一条").click()
    approver.locator("#return_reason").fill("数量请按实际在编人数填写")
    approver.get_by_role("button", name="退回修改").click()
    approver.wait_for_selector(".alert.ok")

    page.goto(f"/console/budget/lines/{line['id']}")
    assert "数量请按实际在编人数填写" in page.locator(".alert.error").inner_text()
    page.get_by_label("数量").fill("2")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector(".alert.ok")
    assert page.locator('[data-figure="requested_fen"]').inner_text() == "1,100.00"
    page.get_by_role("button", name="重新提交").click()
    page.wait_for_selector(".alert.ok")
    history = page.locator("table").last.inner_text()
    assert "退回修改" in history and "修改" in history and "提交审批" in history
    assert username(demo, "finance", "finance") in history  # the operator by name
    assert accessible(page) == []
    shoot(page, "line-resubmitted")
    approver.goto("/console/budget/queue")
    assert "双击也只建一条" in approver.locator("#queue").inner_text()
    editor.close()
    finance.close()


def test_the_lead_suspends_and_resumes_the_agreement_and_a_unit_orders_under_it(browser, stack, demo):
    unit, finance = demo.unit("health"), demo.user("finance", "finance", label="省财政厅 财务审批")
    line = unit.post("/api/v1/budget/lines", {"org_id": demo.org_id("health"), "fiscal_year": 2026,
                                              "category": "office", "title": "补充订购", "quantity": 4,
                                              "unit_price_fen": 60_000})
    unit.post(f"/api/v1/budget/lines/{line['id']}/submit")
    finance.post(f"/api/v1/budget/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})
    agreement = f"/console/agreements/{demo.made.agreement_id}"

    lead_context = browser.new_context(base_url=stack.url, locale="zh-CN")
    lead = lead_context.new_page()
    sign_in(lead, username(demo, "centre", "procurement"))
    lead.goto(agreement)
    lead.get_by_role("button", name="暂停").click()
    lead.wait_for_selector(".alert.ok")
    assert "已暂停" in lead.locator("h1").inner_text()

    buyer_context = browser.new_context(base_url=stack.url, locale="zh-CN")
    buyer = buyer_context.new_page()
    sign_in(buyer, username(demo, "health", "budget_editor", "procurement"))
    buyer.goto(agreement)
    assert buyer.get_by_role("button", name="下单").count() == 0  # no orders while suspended
    assert buyer.get_by_role("button", name="暂停").count() == 0  # and no lead's buttons for a unit

    lead.get_by_role("button", name="恢复").click()
    lead.wait_for_selector(".alert.ok")
    assert "有效" in lead.locator("h1").inner_text()
    history = lead.locator("table").last.inner_text()
    assert "暂停" in history and "恢复" in history
    assert accessible(lead) == []
    shoot(lead, "agreement")

    buyer.goto(agreement)
    buyer.get_by_label("数量").fill("2")
    buyer.get_by_label("预算项目").select_option(value=line["id"])
    buyer.get_by_role("button", name="下单").click()
    buyer.wait_for_url("**/console/orders")
    assert buyer.locator(".alert.ok").count() == 1
    row = buyer.locator("#orders tr", has_text="996.00")
    assert row.count() == 1 and "省卫生健康委员会" in row.inner_text() and "WPS Office" in row.inner_text()
    lead_context.close()
    buyer_context.close()


def test_a_reclaim_goes_back_only_to_a_console_page(page, demo):
    admin = demo.user("school_1", "it_admin", label="信息中心")
    entitlement = admin.post("/api/v1/licenses/entitlements", {
        "org_id": demo.org_id("school_1"), "product_name": "用友财务", "vendor": "用友", "category": "business",
        "metric": "device", "quantity": 2, "source": "manual"})
    # A business seat: the demo already gave each of the school's computers its one antivirus seat (98号).
    device = next(d for d in demo.made.devices if d["org_id"] == demo.org_id("school_1"))
    seat = admin.post(f"/api/v1/licenses/pools/{entitlement['pool_id']}/allocations",
                      {"assignee_type": "device", "assignee_id": device["id"]})
    sign_in(page, username(demo, "school_1", "it_admin"))
    page.goto(f"/console/pools/{entitlement['pool_id']}")
    assert device["asset_tag"] in page.locator("#allocations").inner_text()  # the device by its tag
    form = page.locator(f"form[action='/console/allocations/{seat['id']}/reclaim']")
    answer = page.request.post(f"/console/allocations/{seat['id']}/reclaim", max_redirects=0, form={
        "csrf": form.locator("input[name=csrf]").get_attribute("value"),
        "form_key": form.locator("input[name=form_key]").get_attribute("value"),
        "back": "https://evil.example/console/", "reason": "换用新版"})
    assert answer.status == 303 and answer.headers["location"] == "/console/pools"
    assert admin.get(f"/api/v1/licenses/allocations/{seat['id']}")["status"] == "reclaimed"
    # A reclaim run, previewed: the seats it would take back, by asset tag.
    page.goto("/console/devices")
    page.get_by_label("闲置天数").fill("0")
    page.get_by_label("最多回收").fill("3")
    page.get_by_role("button", name="执行").click()
    preview = page.locator("#run-result").inner_text()
    assert preview.count("SCHOOL_1-") == 3
    assert accessible(page) == []
    shoot(page, "devices")
