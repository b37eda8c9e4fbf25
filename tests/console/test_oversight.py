"""Oversight in Chromium against the real processes (issue #30): a staff member asks for software
on its own computer and the IT admin approves it from the queue; the annual report page shows the
snapshot, submits it and marks the children late or missing; the findings board sorts what is
overdue, due soon and open, and the it_admin and the auditor move a finding to closed."""

from __future__ import annotations

import pytest

from tests.console.conftest import accessible, shoot, sign_in, username

pytestmark = pytest.mark.slow


def signed_in(browser, stack, user: str):
    """A page of a fresh browser context, signed in as `user` (close its context when done)."""
    context = browser.new_context(base_url=stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, user)
    return page


def test_staff_asks_for_software_and_the_it_admin_approves_it_from_the_queue(browser, stack, demo):
    it_admin = demo.user("school_2", "it_admin", label="实验中学 信息中心")
    staff = demo.user("school_2", "staff", label="实验中学 职工")
    device = it_admin.post("/api/v1/licenses/devices", {
        "org_id": demo.org_id("school_2"), "asset_tag": "SCHOOL_2-STAFF", "hostname": "teacher-pc", "kind": "laptop",
        "owner": username(demo, "school_2", "staff")})
    assert staff.get("/api/v1/licenses/devices")["items"] == [device]

    page = signed_in(browser, stack, username(demo, "school_2", "staff"))
    nav = [a.inner_text() for a in page.locator("header nav a").all()]
    assert nav == ["软件安装申请"]
    page.get_by_role("navigation").get_by_role("link", name="软件安装申请").click()
    page.get_by_label("设备").select_option(value=device["id"])
    wps = next(o for o in page.locator("#request_title option").all() if "WPS Office" in o.inner_text())
    page.get_by_label("软件名称").select_option(value=wps.get_attribute("value"))
    page.get_by_label("理由").fill("备课需要")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_selector(".alert.ok")
    row = page.locator("#install-requests tr", has_text="SCHOOL_2-STAFF")
    assert "待审批" in row.inner_text() and "安装" in row.inner_text() and "备课需要" in row.inner_text()
    assert row.get_by_role("button", name="批准").count() == 0  # staff do not decide
    assert accessible(page) == []
    shoot(page, "install-request")
    page.context.close()

    page = signed_in(browser, stack, username(demo, "school_2", "it_admin"))
    page.goto("/console/install-requests?status=pending")
    row = page.locator("#install-requests tr", has_text="SCHOOL_2-STAFF")
    assert username(demo, "school_2", "staff") in row.inner_text()  # the requester by name
    assert accessible(page) == []
    shoot(page, "install-queue")
    row.get_by_role("button", name="批准").click()
    page.wait_for_selector(".alert.ok")
    page.goto("/console/install-requests")
    assert "已批准" in page.locator("#install-requests tr", has_text="SCHOOL_2-STAFF").inner_text()
    seats = it_admin.all("/api/v1/licenses/allocations", assignee_id=device["id"], status="active")
    assert len(seats) == 1
    page.context.close()


def test_the_annual_report_page_and_the_findings_board(browser, stack, demo):
    page = signed_in(browser, stack, username(demo, "finance", "auditor"))
    page.goto(f"/console/annual-reports?org_id={demo.org_id('education')}")
    children = page.locator("#children").inner_text()
    assert "省第一中学" in children and "省实验中学" in children
    late = page.locator("#children tr", has_text="省实验中学").inner_text()
    assert "已报送" in page.locator("#children tr", has_text="省第一中学").inner_text() and "逾期" in late
    assert page.locator("#own-report").count() == 1 and page.get_by_role("button", name="报送").count() == 0
    page.goto(f"/console/annual-reports?org_id={demo.org_id('finance')}")
    assert "未报送" in page.locator("#children tr", has_text="省卫生健康委员会").inner_text()
    assert "汇总报告数：1" in page.locator("#rollup").inner_text()
    assert accessible(page) == []
    shoot(page, "annual-reports")

    page.goto("/console/findings")
    overdue_or_soon = page.locator("#due_soon").inner_text() + page.locator("#overdue").inner_text()
    assert "限期卸载或采购正版" in overdue_or_soon
    page.get_by_label("单位").select_option(value=demo.org_id("health"))
    page.get_by_label("问题描述").fill("正版化培训记录缺失")
    page.get_by_role("button", name="登记整改事项").click()
    page.wait_for_selector(".alert.ok")
    row = page.locator("tr", has_text="正版化培训记录缺失")
    assert "待处理" in row.inner_text() and row.get_by_role("button", name="整改完成").count() == 0
    assert accessible(page) == []
    shoot(page, "findings")
    page.context.close()

    demo.user("health", "it_admin", label="卫健委 信息中心")
    page = signed_in(browser, stack, username(demo, "health", "it_admin"))
    page.goto("/console/findings")
    row = page.locator("tr", has_text="正版化培训记录缺失")
    row.get_by_label("整改说明").fill("已补录培训记录")
    row.get_by_role("button", name="整改完成").click()
    page.wait_for_selector(".alert.ok")
    page.context.close()

    page = signed_in(browser, stack, username(demo, "finance", "auditor"))
    page.goto("/console/findings")
    row = page.locator("tr", has_text="正版化培训记录缺失")
    assert "已整改待核验" in row.inner_text() and "已补录培训记录" in row.inner_text()
    row.get_by_role("button", name="核验通过").click()
    page.wait_for_selector(".alert.ok")
    assert page.locator("tr", has_text="正版化培训记录缺失").count() == 0  # closed: off the board
    page.context.close()
