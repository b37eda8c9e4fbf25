"""The gateway's own endpoints and settings refuse values beyond their bounds with 422 (or refuse to
start), never 500."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from tests.gateway.conftest import ADMIN_PASSWORD


def assert_refused(resp, *fields):
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json") and body["status"] == 422
    for field in fields:
        assert field in body["detail"], body


@pytest.mark.parametrize("ttl", [0, 299, 3601, 2**63])
def test_token_lifetime_outside_what_spec_allows_refuses_to_start(ttl):
    with pytest.raises(ValidationError, match="token_ttl_seconds"):
        GatewaySettings(token_ttl_seconds=ttl)


@pytest.mark.parametrize("ttl", [300, 3600])
def test_token_lifetime_at_either_bound_is_taken(ttl):
    assert GatewaySettings(token_ttl_seconds=ttl).token_ttl_seconds == ttl


async def test_sign_in_with_control_characters_or_excess_is_refused(gateway):
    for form in ({"username": "admin\x00", "password": ADMIN_PASSWORD}, {"username": "a" * 201, "password": "p"},
                 {"username": "admin", "password": "p" * 1001}):
        assert_refused(await gateway.client.post("/auth/token", data=form))
    assert (await gateway.client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
            ).status_code == 200


async def test_identity_bodies_and_filters_beyond_their_bounds_are_refused(gateway, admin):
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    base = {"username": "clerk", "password": "long-enough-1", "org_id": me["org_id"], "roles": ["auditor"]}
    for bad, field in (({"roles": ["auditor"] * 21}, "roles"), ({"display_name": "x\x00"}, "display_name"),
                       ({"username": "c" * 101}, "username")):
        assert_refused(await gateway.client.post("/api/v1/identity/users", headers=admin, json=base | bad), field)
    assert_refused(await gateway.client.post("/api/v1/identity/orgs", headers=admin, json={
        "name": "n\x1b", "kind": "unit", "parent_id": me["org_id"]}), "name")
    for params, field in (({"kind": "x" * 100}, "kind"), ({"limit": 2**63}, "limit"), ({"cursor": "c" * 101}, "cursor"),
                          ({"limit": "NaN"}, "limit")):
        assert_refused(await gateway.client.get("/api/v1/identity/orgs", headers=admin, params=params), field)
    users = (await gateway.client.get("/api/v1/identity/users", headers=admin)).json()["items"]
    assert [u["username"] for u in users] == ["admin"]
