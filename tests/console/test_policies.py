"""Issue 20's rules in the console, in Chromium against the real processes: the edition of an
antivirus line and the API's refusals in words on the new-line form, the procurement method in
Chinese, the policy page with the source of each value (a subtree's own, or the default and its
notice) and finance's form for the org's own document, and the year-end close with its report."""

from __future__ import annotations

import pytest

from gateway.console.i18n import yuan
from tests.console.conftest import accessible, shoot, sign_in, username

pytestmark = pytest.mark.slow


def new_line(page, category: str, title: str, quantity: int, price: str, justification: str = "",
             edition: str | None = None) -> None:
    page.goto("/console/budget")
    page.get_by_label("类别").select_option(value=category)
    if edition:
        page.get_by_label("版本").select_option(label=edition)
    page.get_by_label("名称").fill(title)
    page.get_by_label("数量").fill(str(quantity))
    page.get_by_label("单价（元）").fill(price)
    page.get_by_label("特殊需求说明").fill(justification)
    page.get_by_role("button", name="创建").click()


def test_a_client_antivirus_line_above_its_cap_is_refused_in_words_whatever_its_justification(page, demo):
    demo.unit("school_1")
    sign_in(page, username(demo, "school_1", "budget_editor", "procurement"))
    page.goto("/console/budget")
    page.get_by_label("类别").select_option(value="office")
    assert page.get_by_label("版本").is_hidden()  # asked for antivirus only
    page.get_by_label("类别").select_option(value="antivirus")
    assert page.get_by_label("版本").is_visible()
    assert accessible(page) == []

    new_line(page, "antivirus", "终端杀毒 1400 元", 2, "1400", "服务器级防护", edition="客户端")
    assert page.locator(".alert.error").inner_text() == "单价超过限价，特殊需求也不能超过（限价 100.00 元）"
    new_line(page, "os", "操作系统单独采购", 1, "800")
    assert page.locator(".alert.error").inner_text() == "操作系统随计算机配备，单独购买须填写特殊需求说明"
    mine = demo.unit("school_1").all("/api/v1/budget/lines", org_id=demo.org_id("school_1"))
    assert not [line for line in mine if line["title"] in ("终端杀毒 1400 元", "操作系统单独采购")]

    new_line(page, "antivirus", "服务器杀毒 1400 元", 2, "1400", edition="服务器端")
    page.wait_for_selector(".alert.ok")
    row = page.locator("#lines tr", has_text="服务器杀毒 1400 元")
    assert "限额以下" in row.inner_text() and "below_threshold" not in row.inner_text()
    row.get_by_role("link").click()
    header = page.locator("main p.muted").first.inner_text()
    assert "杀毒软件 · 服务器端" in header and "限价 1,400.00 元" in header
    assert page.locator('[data-field="procurement_method"]').inner_text() == "限额以下"
    made = [line for line in demo.unit("school_1").all("/api/v1/budget/lines", org_id=demo.org_id("school_1"))
            if line["title"] == "服务器杀毒 1400 元"]
    assert [(line["edition"], line["requested_fen"], line["procurement_method"]) for line in made] == \
        [("server", 280_000, "below_threshold")]
    assert accessible(page) == []


def test_the_policy_page_shows_each_values_source_and_finance_sets_the_orgs_own(page, demo):
    finance = demo.user("finance", "finance", label="省财政厅 财务审批")
    finance.request("PUT", f"/api/v1/budget/policies/{demo.org_id('education')}", json={
        "thresholds": [{"fiscal_year": 2031, "decentralized_fen": 100_000_000, "public_tender_fen": 300_000_000}]})
    sign_in(page, username(demo, "finance", "finance"))
    page.get_by_role("navigation").get_by_role("link", name="预算政策").click()
    page.get_by_label("单位").first.select_option(label=demo.made.orgs["school_1"].name)
    page.get_by_role("button", name="查看").click()
    # The rows are read at once (all_inner_texts does not wait): wait for the school's page first.
    page.wait_for_selector('#policy tr[data-field="year_decentralized_fen.2031"]')

    def row(field: str) -> tuple[str, str, str]:
        cells = page.locator(f'#policy tr[data-field="{field}"]').locator("th, td").all_inner_texts()
        return tuple(cells)

    assert row("year_decentralized_fen.2031") == ("2031 · 分散采购限额（元）", "1,000,000.00 元", "省教育厅")
    assert row("year_public_tender_fen.2031") == ("2031 · 公开招标限额（元）", "3,000,000.00 元", "省教育厅")
    assert row("caps.office") == ("限价（元） · 办公软件", "600.00 元", "默认（财行〔2013〕98号）")
    assert row("edition_caps.antivirus.client") == ("分版本限价（元） · 杀毒软件 · 客户端", "100.00 元",
                                                     "默认（财行〔2013〕98号）")
    assert row("seats_per_device.os")[1:] == ("1",
                                              "默认（财行〔2013〕98号：每台计算机操作系统、办公软件、杀毒软件各一套）")
    assert row("standstill_days")[1] == "7"
    assert accessible(page) == []

    # Finance sets school_1's own database cap; the inherited thresholds stay its parent's.
    page.get_by_label("限价（元） · 数据库", exact=True).fill("3000")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector(".alert.ok")
    assert row("caps.database") == ("限价（元） · 数据库", "3,000.00 元", demo.made.orgs["school_1"].name)
    assert row("year_decentralized_fen.2031")[2] == "省教育厅"
    assert page.get_by_label("限价（元） · 数据库", exact=True).input_value() == "3000.00"
    assert finance.get(f"/api/v1/budget/policies/{demo.org_id('school_1')}")["own"] == {"caps": {"database": 300_000}}
    assert accessible(page) == []
    shoot(page, "policy")


def test_a_save_over_someone_elses_change_is_refused_and_said(page, demo):
    """Two finance officers edit one policy: the second save, over the first's change, is refused
    (the form carries the version it showed) and the page says why, instead of overwriting it."""
    finance = demo.user("finance", "finance", label="省财政厅 财务审批")
    org = demo.org_id("school_2")
    sign_in(page, username(demo, "finance", "finance"))
    page.goto(f"/console/budget/policies?org_id={org}")
    page.get_by_label("限价（元） · 数据库", exact=True).fill("2000")
    finance.request("PUT", f"/api/v1/budget/policies/{org}", json={"caps": {"database": 250_000}})  # the other
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector(".alert.error")
    assert "他人已修改" in page.locator(".alert.error").inner_text()
    assert finance.get(f"/api/v1/budget/policies/{org}")["own"] == {"caps": {"database": 250_000}}


def test_finance_closes_a_fiscal_year_and_reads_what_was_released(page, demo):
    demo.user("energy", "finance", label="省能源集团 财务审批")
    line_id = demo.made.orgs["sales"].line_id
    before = demo.admin.get(f"/api/v1/budget/lines/{line_id}")
    held = before["pre_encumbered_fen"] + before["reserved_fen"]
    assert before["status"] == "approved" and held > 0  # the demand's rest above the unified price
    sign_in(page, username(demo, "energy", "finance"))
    page.goto("/console/budget")
    page.locator("#close_org_id").select_option(label=demo.made.orgs["sales"].name)
    page.locator("#close_fiscal_year").fill("2026")
    page.get_by_role("button", name="年终结账").click()
    page.wait_for_selector("#year-close-lines")  # the report's page, not the form's (its h1 too)
    assert page.locator("h1").inner_text() == f"年终结账结果 · {demo.made.orgs['sales'].name} · 2026"
    row = page.locator(f'#year-close-lines tr[data-line="{line_id}"]').locator("td").all_inner_texts()
    assert row == ["办公软件正版化", demo.made.orgs["sales"].name, "办公软件", "本次关闭",
                   yuan(before["pre_encumbered_fen"]), yuan(before["reserved_fen"]), yuan(before["spent_fen"]),
                   yuan(before["available_fen"] + held)]
    assert page.locator('[data-figure="released_fen"]').inner_text() == yuan(held)
    assert page.locator('#year-close-totals [data-figure="lines_closed"]').inner_text() == "1"
    assert accessible(page) == []
    shoot(page, "year-close")
    after = demo.admin.get(f"/api/v1/budget/lines/{line_id}")
    assert (after["status"], after["pre_encumbered_fen"], after["reserved_fen"]) == ("closed", 0, 0)

    # Closing again releases nothing, and says so.
    page.goto("/console/budget")
    page.locator("#close_org_id").select_option(label=demo.made.orgs["sales"].name)
    page.locator("#close_fiscal_year").fill("2026")
    page.get_by_role("button", name="年终结账").click()
    page.wait_for_selector("#year-close-totals")
    assert page.get_by_role("status").inner_text() == "本次未释放任何资金"
    assert page.locator('#year-close-totals [data-figure="lines_already_closed"]').inner_text() == "1"
