"""A disabled user's access tokens are refused by the gateway at once and by every service within
60 s, each service asked directly (not through the gateway): the services hear
identity.user.disabled and keep the refusal in their own tables, so a restarted service refuses
the token from its first request, without asking the gateway."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.stack import RunningStack
from zhengban.demo.client import wait_until

pytestmark = pytest.mark.slow

PASSWORD = "Leaver-pass-2026"
# A read each service answers to an auditor of the root org.
READS = {"budget": "/api/v1/budget/lines", "procurement": "/api/v1/procurement/campaigns",
         "licenses": "/api/v1/licenses/pools"}
SPEC_SECONDS = 60


def status_at(stack: RunningStack, service: str, headers: dict) -> httpx.Response:
    [url, *_] = stack.service_urls(service)
    return httpx.get(url + READS[service], headers=headers, timeout=10)


def refused_as_disabled(resp: httpx.Response) -> bool:
    return resp.status_code == 401 and resp.json()["type"].endswith("/user-disabled")


def test_a_disabled_users_token_is_refused_by_every_service_directly(stack: RunningStack):
    admin = stack.token()
    root = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()["org_id"]
    user = httpx.post(f"{stack.url}/api/v1/identity/users", headers=admin, json={
        "username": "leaver", "password": PASSWORD, "org_id": root, "roles": ["auditor"]}).json()
    leaver = stack.token("leaver", PASSWORD)
    for service in READS:
        assert status_at(stack, service, leaver).status_code == 200, service

    off = httpx.patch(f"{stack.url}/api/v1/identity/users/{user['id']}", headers=admin, json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    disabled_at = time.monotonic()
    # The gateway refuses at once, for its own routes and for what it routes on.
    assert refused_as_disabled(httpx.get(f"{stack.url}/api/v1/identity/me", headers=leaver))
    assert refused_as_disabled(httpx.get(f"{stack.url}{READS['budget']}", headers=leaver))
    for service in READS:
        wait_until(lambda s=service: refused_as_disabled(status_at(stack, s, leaver)),
                   timeout=SPEC_SECONDS - (time.monotonic() - disabled_at), what=f"{service} refusing the token")
    assert time.monotonic() - disabled_at < SPEC_SECONDS

    # A restarted service refuses from its first request on: it reads the refusals from its table.
    old = stack.kill("serve licenses")
    stack.wait_replaced("serve licenses", old)
    assert refused_as_disabled(status_at(stack, "licenses", leaver))

    # Enabled again, the user's new sign-in works everywhere again.
    on = httpx.patch(f"{stack.url}/api/v1/identity/users/{user['id']}", headers=admin, json={"disabled": False})
    assert on.json()["disabled"] is False
    back = stack.token("leaver", PASSWORD)
    for service in READS:
        wait_until(lambda s=service: status_at(stack, s, back).status_code == 200, timeout=SPEC_SECONDS,
                   what=f"{service} accepting the user again")
