"""Single sign-on in a real browser against a real OpenID Connect provider (oidc-provider-mock,
started here): the happy path, an unknown user, a disabled user, a wrong `state`, a replayed code."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.console.conftest import shoot
from tests.e2e.stack import RunningStack

PASSWORD = "Sso-user-pass-2026"
REFUSED = "统一身份认证登录未成功"


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def sso_stack(tmp_path_factory, provider):
    running = RunningStack(tmp_path_factory.mktemp("sso"), env={
        "ZHENGBAN_OIDC_ISSUER": provider, "ZHENGBAN_OIDC_CLIENT_ID": "zhengban-console",
        "ZHENGBAN_OIDC_CLIENT_SECRET": "console-secret"})
    running.start()
    admin = running.token()
    root = httpx.get(f"{running.url}/api/v1/identity/me", headers=admin).json()["org_id"]
    for name in ("sso-clerk", "sso-leaver"):
        made = httpx.post(f"{running.url}/api/v1/identity/users", headers=admin, json={
            "username": name, "password": PASSWORD, "org_id": root, "roles": ["finance"]})
        assert made.status_code == 201, made.text
        if name == "sso-leaver":
            httpx.patch(f"{running.url}/api/v1/identity/users/{made.json()['id']}", headers=admin,
                        json={"disabled": True}).raise_for_status()
    # The provider's people: their `preferred_username` names (or fails to name) a Zhengban user.
    for sub, username in (("alice", "sso-clerk"), ("bob", "nobody-here"), ("carol", "sso-leaver")):
        httpx.put(f"{provider}/users/{sub}", json={"preferred_username": username}).raise_for_status()
    yield running
    running.close()


@pytest.fixture
def sso_page(browser, sso_stack):
    context = browser.new_context(base_url=sso_stack.url, locale="zh-CN")
    yield context.new_page()
    context.close()


def authorize_at_provider(page, sub: str) -> None:
    page.goto("/console/login")
    page.get_by_role("link", name="统一身份认证登录").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_known_user_signs_in_through_the_provider(sso_page, sso_stack):
    with sso_page.expect_request(lambda r: "/console/sso/callback" in r.url) as callback:
        authorize_at_provider(sso_page, "alice")
    sso_page.wait_for_url("**/console/")
    assert "sso-clerk" in sso_page.locator("header").inner_text()
    query = parse_qs(urlsplit(callback.value.url).query)
    assert query["code"] and query["state"]
    shoot(sso_page, "sso-signed-in")

    # The same callback again (a replayed code with its state) finds no flow waiting: refused.
    replay = sso_page.goto(callback.value.url)
    assert replay.status == 400 and REFUSED in sso_page.content()
    # The old code under a new flow's state reaches the provider, which refuses a used code.
    sso_page.goto("/console/sso")
    sso_page.wait_for_url("**/oauth2/authorize**")
    new_state = parse_qs(urlsplit(sso_page.url).query)["state"][0]
    reused = sso_page.goto(f"/console/sso/callback?code={query['code'][0]}&state={new_state}")
    assert reused.status == 401 and REFUSED in sso_page.content()


@pytest.mark.parametrize("sub", ["bob", "carol"], ids=["unknown user", "disabled user"])
def test_an_unknown_or_disabled_user_is_refused(sso_page, sub):
    authorize_at_provider(sso_page, sub)
    sso_page.wait_for_url("**/console/sso/callback**")
    assert REFUSED in sso_page.locator(".alert").inner_text()
    assert sso_page.goto("/console/").url.endswith("/console/login?next=/console/")


def test_a_wrong_state_is_refused(sso_page):
    sso_page.goto("/console/sso")
    sso_page.wait_for_url("**/oauth2/authorize**")
    answer = sso_page.goto("/console/sso/callback?code=whatever&state=not-the-one")
    assert answer.status == 400 and REFUSED in sso_page.content()
    # No console session came of it.
    assert sso_page.goto("/console/").url.endswith("/console/login?next=/console/")
