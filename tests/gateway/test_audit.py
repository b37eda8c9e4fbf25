"""One audit log at the gateway: sign-in outcomes, account changes and every state-changing
request it routes, read by admins and auditors over the org, paged, filtered, as CSV, pruned by age."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from gateway.models import AuditEntry
from kernel.ids import new_id, utcnow
from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.gateway.test_accounts import PASSWORD, bearer, make_user, problem
from tests.gateway.test_identity import make_org
from tests.support.apps import eventually

UA = "Mozilla/5.0 (audit test)"


async def entries(gw, headers, **params) -> list[dict]:
    resp = await gw.client.get("/api/v1/identity/audit", headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_sign_ins_changes_and_routed_writes_are_in_the_log(gateway, admin):
    client = gateway.client
    root = (await client.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
    bureau = await make_org(client, admin, "审计局", "finance_bureau", root)
    clerk = await make_user(client, admin, "clerk", bureau["id"], ["budget_editor"])
    transport = httpx.ASGITransport(app=gateway.app, client=("192.0.2.44", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as browser:
        for password in ("wrong-one", PASSWORD):
            await browser.post("/auth/token", data={"username": "clerk", "password": password},
                               headers={"User-Agent": UA})
        await browser.post("/auth/token", data={"username": "nobody", "password": "x"}, headers={"User-Agent": UA})
    clerk_headers = await bearer(client, "clerk")
    routed = await client.post("/api/v1/budget/lines", headers=clerk_headers | {"X-Request-Id": "req-audit-1"},
                               json={"title": "x"})
    assert routed.status_code == 502  # the services are not running here: still a request to record
    await client.patch(f"/api/v1/identity/users/{clerk['id']}", headers=admin, json={"display_name": "出纳"})

    async def logged():
        found = await entries(gateway, admin, limit=200)
        return found if {"sign_in", "sign_in_failed", "user_created", "user_changed", "org_created",
                         "request"} <= {e["action"] for e in found} else None

    found = await eventually(logged)
    failed = [e for e in found if e["action"] == "sign_in_failed" and e["ip"] == "192.0.2.44"]
    assert {(e["actor_name"], e["detail"]["reason"]) for e in failed} == {("clerk", "wrong_password"),
                                                                        ("nobody", "unknown_user")}
    assert all(e["user_agent"] == UA and e["status"] == 401 for e in failed)
    [signed_in] = [e for e in found if e["action"] == "sign_in" and e["ip"] == "192.0.2.44"]
    assert (signed_in["actor_id"], signed_in["org_id"]) == (clerk["id"], bureau["id"])
    [request] = [e for e in found if e["action"] == "request"]
    assert (request["method"], request["path"], request["status"], request["actor_id"], request["request_id"]) == (
        "POST", "/api/v1/budget/lines", 502, clerk["id"], "req-audit-1")
    [changed] = [e for e in found if e["action"] == "user_changed"]
    assert (changed["object_id"], changed["status"], changed["method"]) == (clerk["id"], 200, "PATCH")
    [created] = [e for e in found if e["action"] == "user_created"]
    assert created["object_id"] == clerk["id"]  # taken from the answer of the create

    # Filters: by actor, by action, by time.
    mine = await entries(gateway, admin, actor_id=clerk["id"])
    assert mine and {e["actor_id"] for e in mine} == {clerk["id"]}
    assert {e["action"] for e in await entries(gateway, admin, action="sign_in_failed")} == {"sign_in_failed"}
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    assert await entries(gateway, admin, **{"from": later}) == []
    assert len(await entries(gateway, admin, to=later, limit=200)) == len(found)
    problem(await client.get("/api/v1/identity/audit", headers=admin, params={"from": "2026-01-01T00:00:00"}),
            422, "validation-error")
    # Pages.
    first = (await client.get("/api/v1/identity/audit", headers=admin, params={"limit": 2})).json()
    second = (await client.get("/api/v1/identity/audit", headers=admin,
                               params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert first["next_cursor"] and {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])
    # CSV: every entry, the same columns.
    export = await client.get("/api/v1/identity/audit.csv", headers=admin, params={"action": "sign_in_failed"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {r["actor_name"] for r in rows} >= {"clerk", "nobody"} and {r["action"] for r in rows} == {"sign_in_failed"}


async def test_the_log_is_read_by_admins_and_auditors_over_the_org_only(gateway, admin):
    client = gateway.client
    root = (await client.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
    bureau = await make_org(client, admin, "一局", "finance_bureau", root)
    other = await make_org(client, admin, "二局", "finance_bureau", root)
    await make_user(client, admin, "bureau-auditor", bureau["id"], ["auditor"])
    await make_user(client, admin, "bureau-clerk", bureau["id"], ["budget_editor"])
    await make_user(client, admin, "other-clerk", other["id"], ["budget_editor"])
    await client.post("/auth/token", data={"username": "other-clerk", "password": "wrong"})
    auditor = await bearer(client, "bureau-auditor")
    await bearer(client, "bureau-clerk")

    async def seen():
        found = await entries(gateway, auditor, limit=200)
        return found if any(e["actor_name"] == "bureau-clerk" for e in found) else None

    found = await eventually(seen)
    # The bureau's readers see its people's entries, never the other bureau's nor unknown usernames.
    assert {e["actor_name"] for e in found} <= {"bureau-auditor", "bureau-clerk"}
    problem(await client.get("/api/v1/identity/audit", headers=auditor, params={"org_id": other["id"]}),
            404, "not-found")
    problem(await client.get("/api/v1/identity/audit", headers=await bearer(client, "bureau-clerk")),
            403, "forbidden")
    assert (await client.get("/api/v1/identity/audit")).status_code == 401
    # The root admin sees everyone, also failed sign-ins of usernames nobody has.
    await client.post("/auth/token", data={"username": "ghost-user", "password": "x"})
    await eventually(lambda: _has(gateway, admin, "ghost-user"))


async def _has(gateway, headers, name: str) -> bool:
    return any(e["actor_name"] == name for e in await entries(gateway, headers, limit=200))


async def test_entries_are_kept_for_their_retention_and_pruned_after(gateway, admin):
    async with gateway.db.session() as session:
        for days in (179, 181):
            session.add(AuditEntry(id=new_id(), at=utcnow() - timedelta(days=days), action="sign_in",
                                   actor_name=f"aged-{days}"))
        await session.commit()
    assert await gateway.app.state.audit.prune(180) == 1
    async with gateway.db.session() as session:
        left = (await session.execute(sa.select(AuditEntry.actor_name)
                                      .where(AuditEntry.actor_name.like("aged-%")))).scalars().all()
    assert left == ["aged-179"]


async def test_a_lock_is_recorded(gateway, admin):
    client = gateway.client
    root = (await client.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
    await make_user(client, admin, "forgetful", root, ["budget_editor"])
    for _ in range(5):
        await client.post("/auth/token", data={"username": "forgetful", "password": "not-it"})

    async def locked():
        return [e for e in await entries(gateway, admin, action="locked") if e["actor_name"] == "forgetful"]

    [entry] = await eventually(locked)
    assert entry["detail"] == {"minutes": 15}
    assert await token(client, "admin", ADMIN_PASSWORD)


async def test_the_bench_switch_leaves_routed_writes_out_and_is_refused_outside_development(databases, nats,
                                                                                          tmp_path):
    """`ZHENGBAN_GATEWAY_AUDIT_REQUESTS=false` exists only for the bench's measure of the log's cost:
    proxied writes are not recorded, sign-ins still are, and a production setting refuses it."""
    from gateway.settings import GatewaySettings
    from tests.gateway.conftest import gateway_app

    async with gateway_app(databases, nats, tmp_path, audit_requests=False) as gw:
        headers = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
        routed = await gw.client.post("/api/v1/budget/lines", headers=headers, json={"title": "x"})
        assert routed.status_code == 502  # the services are not running here
        assert await gw.app.state.audit.flush() >= 1  # the sign-in
        found = await entries(gw, headers, limit=200)
        assert "sign_in" in {e["action"] for e in found} and "request" not in {e["action"] for e in found}
    with pytest.raises(ValueError, match="audit_requests"):
        GatewaySettings(environment="production", internal_token="not-the-default", audit_requests=False)
