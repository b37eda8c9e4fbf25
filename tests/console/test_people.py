"""People in the console: the admin's users page (search, create, roles, disable, reset password),
the orgs (tree, new, rename held to the version shown), API keys (expiry, shown once, last use,
revoke), the audit log for admins and auditors (filters, CSV), the password page a reset user lands
on, and a disabled user's console session ending at once."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import httpx

from gateway.console.i18n import CHINA
from tests.console.conftest import accessible, check_page, shoot, sign_in, username

NEW_PASSWORD = "Chosen-console-2027"


def sign_in_as_admin(page, stack) -> None:
    sign_in(page, "admin", stack.admin_password)


def test_an_admin_creates_a_user_resets_its_password_and_the_user_chooses_a_new_one(page, browser, stack, demo):
    sign_in_as_admin(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="用户管理").click()
    page.wait_for_url("**/console/users")
    assert accessible(page) == []
    name = f"clerk-{uuid.uuid4().hex[:8]}"
    page.get_by_label("用户名", exact=True).fill(name)
    page.get_by_label("姓名").fill("李会计")
    page.get_by_label("密码", exact=True).fill("Clerk-first-2026")
    page.locator("#new_role_budget_editor").check()
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/console/users")
    assert "已完成" in page.locator(".alert").inner_text()
    page.get_by_label("搜索").fill(name)
    page.get_by_role("button", name="搜索").click()
    row = page.locator(f'tr[data-user="{name}"]')
    assert "李会计" in row.inner_text() and "正常" in row.inner_text()
    shoot(page, "users")

    row.get_by_role("button", name="重置密码").click()
    flash = page.locator(".alert").inner_text()
    temporary = re.search(r"：(\S+)$", flash.strip()).group(1)

    # The user signs in with it and can only choose a new password.
    context = browser.new_context(base_url=stack.url, locale="zh-CN")
    user = context.new_page()
    user.goto("/console/login")
    user.get_by_label("用户名").fill(name)
    user.get_by_label("密码").fill(temporary)
    user.get_by_role("button", name="登录").click()
    user.wait_for_url("**/console/password")
    assert "一次性密码" in user.locator(".alert").inner_text()
    user.goto("/console/budget")
    user.wait_for_url("**/console/password")
    assert accessible(user) == []
    shoot(user, "password-change")
    user.get_by_label("当前密码").fill(temporary)
    user.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    user.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    user.get_by_role("button", name="修改密码").click()
    user.wait_for_url("**/console/")
    assert "密码已修改" in user.locator(".alert").inner_text()

    # Disabled by the admin, the user's console session ends at once.
    page.goto(f"/console/users?q={name}")
    page.locator(f'tr[data-user="{name}"]').get_by_role("button", name="停用").click()
    assert "已停用" in page.locator(f'tr[data-user="{name}"]').inner_text()
    user.goto("/console/budget")
    user.wait_for_url("**/console/login**")
    context.close()


def test_the_audit_log_is_read_by_admins_and_auditors_only(page, browser, stack, demo):
    sign_in_as_admin(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="审计日志").click()
    page.wait_for_url("**/console/audit")
    assert page.locator('tr[data-action="sign_in"]').count() > 0
    page.locator("#audit_action").select_option("sign_in")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(re.compile(r"/console/audit\?action=sign_in"))
    page.locator("#audit tbody tr").first.wait_for()  # evaluate_all reads at once, without waiting for the rows
    actions = set(page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)"))
    assert actions == {"sign_in"}
    assert accessible(page) == []
    shoot(page, "audit-log")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    assert "sign_in" in open(download.value.path(), encoding="utf-8-sig").read()

    auditor = browser.new_context(base_url=stack.url, locale="zh-CN").new_page()
    sign_in(auditor, username(demo, "finance", "auditor"))
    assert auditor.get_by_role("navigation").get_by_role("link", name="审计日志").count() == 1
    for admins_only in ("用户管理", "单位管理", "API 密钥"):
        assert auditor.get_by_role("navigation").get_by_role("link", name=admins_only).count() == 0
    for page_path in ("users", "orgs", "api-keys"):  # the admin's pages: neither offered nor there
        assert auditor.goto(f"{stack.url}/console/{page_path}").status == 404, page_path
    auditor.goto("/console/audit")
    assert auditor.locator("#audit").count() == 1

    clerk = browser.new_context(base_url=stack.url, locale="zh-CN").new_page()
    sign_in(clerk, username(demo, "finance", "finance"))
    assert clerk.get_by_role("navigation").get_by_role("link", name="审计日志").count() == 0
    assert clerk.goto(f"{stack.url}/console/audit").status == 404


def test_an_admin_adds_an_org_renames_it_and_a_rename_over_anothers_is_refused_in_words(page, stack, demo):
    sign_in_as_admin(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="单位管理").click()
    page.wait_for_url("**/console/orgs")
    name = f"新设学校-{uuid.uuid4().hex[:6]}"
    page.get_by_label("单位名称").fill(name)
    page.get_by_label("单位类型").select_option(label="预算单位")
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/console/orgs")
    assert "已完成" in page.locator(".alert").inner_text()
    node = page.locator(f'#org-tree li[data-org="{name}"]')
    assert "预算单位" in node.inner_text()
    assert accessible(page) == []
    shoot(page, "orgs")
    assert check_page(page, "/console/orgs") == []  # every kind in words, names not ids

    # Two tabs on the org's page: the first renames it, the second's rename holds to the name it shows.
    node.get_by_role("link", name=name).click()
    page.wait_for_url("**/console/orgs/*")
    other = page.context.new_page()
    other.goto(page.url)
    page.get_by_label("新名称").fill(f"{name}（一）")
    page.get_by_role("button", name="更名").click()
    assert "已完成" in page.locator(".alert").inner_text()
    assert page.locator("h1").inner_text() == f"{name}（一）"
    assert check_page(page, page.url) == []
    other.get_by_label("新名称").fill(f"{name}（二）")
    other.get_by_role("button", name="更名").click()
    assert other.locator(".alert.error").inner_text() == "您打开页面后，他人已修改了此内容；请刷新页面查看后再保存"
    assert other.locator("h1").inner_text() == f"{name}（一）"  # shown again as it is now, not overwritten
    assert other.locator("table tbody td:nth-child(2)").all_inner_texts() == ["创建", "更名"]


def test_an_admin_makes_an_api_key_shown_once_sees_its_last_use_and_revokes_it(page, stack, demo):
    sign_in_as_admin(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="API 密钥").click()
    page.wait_for_url("**/console/api-keys")
    name = f"资产盘点脚本-{uuid.uuid4().hex[:6]}"
    until = (datetime.now(CHINA) + timedelta(days=90)).date()
    page.get_by_label("密钥名称").fill(name)
    page.get_by_label("有效期至").fill(until.isoformat())
    page.locator("#key_role_it_admin").check()
    page.get_by_role("button", name="创建").click()
    key = page.locator("#created-key code").inner_text().strip()
    assert key.startswith("zb_") and "只显示这一次" in page.locator("#created-key").inner_text()
    row = page.locator(f'#api-keys tr[data-key="{name}"]')
    assert f"{until.isoformat()} 23:59" in row.inner_text() and "从未使用" in row.inner_text()
    assert "信息化管理" in row.inner_text() and key not in row.inner_text()

    script = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{stack.url}/api/v1/identity/me", headers=script).status_code == 200
    page.goto("/console/api-keys")
    assert page.locator("#created-key").count() == 0 and key not in page.content()  # shown that once only
    assert "从未使用" not in row.inner_text()
    assert accessible(page) == []
    shoot(page, "api-keys")
    assert check_page(page, "/console/api-keys") == []

    row.get_by_role("button", name="吊销").click()
    assert "已完成" in page.locator(".alert").inner_text()
    assert page.locator(f'#api-keys tr[data-key="{name}"]').count() == 0
    assert httpx.get(f"{stack.url}/api/v1/identity/me", headers=script).status_code == 401
