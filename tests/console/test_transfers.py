"""Budget transfers (调剂) in Chromium against the real processes: a budget editor asks for one
between two approved lines, picked by title, with the amount typed in 元; finance approves it; both
lines' ledgers show the move as 调剂."""

from __future__ import annotations

import pytest

from tests.console.conftest import accessible, shoot, sign_in, username

pytestmark = pytest.mark.slow


def approved_line(demo, title: str, quantity: int) -> dict:
    unit, finance = demo.unit("school_1"), demo.user("finance", "finance", label="省财政厅 财务审批")
    line = unit.post("/api/v1/budget/lines", {"org_id": demo.org_id("school_1"), "fiscal_year": 2028,
                                              "category": "office", "title": title, "quantity": quantity,
                                              "unit_price_fen": 10_000})
    unit.post(f"/api/v1/budget/lines/{line['id']}/submit")
    return finance.post(f"/api/v1/budget/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})


def test_an_editor_requests_a_transfer_that_finance_approves_and_both_ledgers_show(browser, stack, demo):
    source, target = approved_line(demo, "调出：办公软件结余", 10), approved_line(demo, "调入：杀毒软件缺口", 2)

    editor_context = browser.new_context(base_url=stack.url, locale="zh-CN")
    editor = editor_context.new_page()
    sign_in(editor, username(demo, "school_1", "budget_editor", "procurement"))
    editor.get_by_role("navigation").get_by_role("link", name="预算调剂").click()
    editor.get_by_label("调出项目").select_option(value=source["id"])
    editor.get_by_label("调入项目").select_option(value=target["id"])
    editor.get_by_label("金额（元）").fill("250.555")  # exact money: a third decimal is refused, not rounded
    editor.get_by_label("理由").fill("杀毒软件续订缺口")
    editor.get_by_role("button", name="申请调剂").click()
    assert editor.locator(".alert.error").inner_text() == "金额最多保留两位小数（分）"
    editor.get_by_label("调出项目").select_option(value=source["id"])
    editor.get_by_label("调入项目").select_option(value=target["id"])
    editor.get_by_label("金额（元）").fill("250.5")
    editor.get_by_label("理由").fill("杀毒软件续订缺口")
    editor.get_by_role("button", name="申请调剂").click()
    editor.wait_for_selector(".alert.ok")
    row = editor.locator("#transfers tr", has_text="调出：办公软件结余")
    assert row.count() == 1
    text = row.inner_text()
    assert "调入：杀毒软件缺口" in text and "250.50" in text and "待审批" in text and "pending" not in text
    assert demo.made.orgs["school_1"].name in text  # the org by name
    assert row.get_by_role("button", name="批准").count() == 0  # an editor does not decide
    assert accessible(editor) == []

    finance_context = browser.new_context(base_url=stack.url, locale="zh-CN")
    finance = finance_context.new_page()
    sign_in(finance, username(demo, "finance", "finance"))
    finance.goto("/console/budget/transfers?status=pending")
    row = finance.locator("#transfers tr", has_text="调出：办公软件结余")
    assert username(demo, "school_1", "budget_editor", "procurement") in row.inner_text()  # the requester by name
    assert accessible(finance) == []
    shoot(finance, "transfers")
    row.get_by_role("button", name="批准").click()
    finance.wait_for_selector(".alert.ok")
    finance.goto("/console/budget/transfers")
    assert "已批准" in finance.locator("#transfers tr", has_text="调出：办公软件结余").inner_text()

    for line, moved, available in ((source, "-250.50", "749.50"), (target, "250.50", "450.50")):
        finance.goto(f"/console/budget/lines/{line['id']}")
        entry = finance.locator("#ledger tr", has_text="杀毒软件续订缺口")
        assert entry.count() == 1 and "调剂" in entry.inner_text() and moved in entry.inner_text()
        assert "transfer" not in finance.locator("#ledger").inner_text()
        assert finance.locator('[data-figure="available_fen"]').inner_text() == available
    after = demo.unit("school_1").all("/api/v1/budget/transfers", org_id=demo.org_id("school_1"), status="approved")
    mine = [t for t in after if t["from_line_id"] == source["id"]]
    assert [(t["amount_fen"], t["to_line_id"]) for t in mine] == [(25_050, target["id"])]
    editor_context.close()
    finance_context.close()
