"""Accounts that change: search, PATCH (name, e-mail, roles, org, disabled), password change and
reset to a one-time password, the password rules, API keys that expire and say when last used."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gateway.models import ApiKey
from kernel.ids import utcnow
from tests.gateway.conftest import token
from tests.gateway.test_identity import make_org
from tests.support.databases import TEST_DATABASE_URL
from tests.support.races import ROUNDS, one_winner

PASSWORD = "Teacher-pass-1"
PROBLEM = "application/problem+json"


async def make_user(client, headers, username, org_id, roles, **extra):
    resp = await client.post("/api/v1/identity/users", headers=headers, json={
        "username": username, "password": PASSWORD, "org_id": org_id, "roles": roles, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def bearer(client, username, password=PASSWORD):
    return {"Authorization": f"Bearer {await token(client, username, password)}"}


def problem(resp, status: int, slug: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status, body
    return body


@pytest.fixture
async def tree(gateway, admin):
    """root ─ bureau ─ school, and a sibling bureau; an admin of `bureau`, a teacher at `school`."""
    client = gateway.client
    root_id = (await client.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
    bureau = await make_org(client, admin, "教育局", "finance_bureau", root_id)
    school = await make_org(client, admin, "第一中学", "unit", bureau["id"])
    other = await make_org(client, admin, "卫健委", "unit", root_id)
    await make_user(client, admin, "bureau-admin", bureau["id"], ["admin"])
    teacher = await make_user(client, admin, "teacher", school["id"], ["budget_editor"], display_name="王老师",
                              email="wang@school.example")
    stranger = await make_user(client, admin, "stranger", other["id"], ["budget_editor"])
    return {"root": root_id, "bureau": bureau, "school": school, "other": other, "teacher": teacher,
            "stranger": stranger, "bureau_admin": await bearer(client, "bureau-admin")}


async def test_users_are_listed_and_searched_within_the_callers_subtree(gateway, admin, tree):
    client, sub = gateway.client, tree["bureau_admin"]
    found = (await client.get("/api/v1/identity/users", headers=sub, params={"q": "WANG@"})).json()
    assert [u["username"] for u in found["items"]] == ["teacher"]
    assert found["items"][0] | {"email": "wang@school.example", "display_name": "王老师", "disabled": False,
                                "must_change_password": False} == found["items"][0]
    by_name = (await client.get("/api/v1/identity/users", headers=sub, params={"q": "王"})).json()
    assert [u["username"] for u in by_name["items"]] == ["teacher"]
    # A wildcard in q is a character, not a pattern.
    assert (await client.get("/api/v1/identity/users", headers=sub, params={"q": "%"})).json()["items"] == []
    in_school = (await client.get("/api/v1/identity/users", headers=sub,
                                  params={"org_id": tree["school"]["id"]})).json()
    assert [u["username"] for u in in_school["items"]] == ["teacher"]
    mine = {u["username"] for u in (await client.get("/api/v1/identity/users", headers=sub)).json()["items"]}
    assert mine == {"bureau-admin", "teacher"}
    # Outside the subtree: the org and the user do not exist for this admin.
    problem(await client.get("/api/v1/identity/users", headers=sub, params={"org_id": tree["other"]["id"]}),
            404, "not-found")
    problem(await client.get(f"/api/v1/identity/users/{tree['stranger']['id']}", headers=sub), 404, "not-found")
    problem(await client.patch(f"/api/v1/identity/users/{tree['stranger']['id']}", headers=sub,
                               json={"display_name": "x"}), 404, "not-found")
    # Inside it, only an admin reads users.
    teacher = await bearer(client, "teacher")
    problem(await client.get(f"/api/v1/identity/users/{tree['teacher']['id']}", headers=teacher), 403, "forbidden")
    got = await client.get(f"/api/v1/identity/users/{tree['teacher']['id']}", headers=sub)
    assert got.json()["username"] == "teacher" and "password_hash" not in got.json()


async def test_an_admin_changes_a_users_name_email_roles_and_org(gateway, admin, tree):
    client, sub, teacher_id = gateway.client, tree["bureau_admin"], tree["teacher"]["id"]
    changed = await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={
        "display_name": "王主任", "email": None, "roles": ["budget_editor", "it_admin"],
        "org_id": tree["bureau"]["id"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["display_name"], body["email"], body["roles"], body["org_id"]) == (
        "王主任", None, ["budget_editor", "it_admin"], tree["bureau"]["id"])
    # The next sign-in carries the new roles and org.
    me = (await client.get("/api/v1/identity/me", headers=await bearer(client, "teacher"))).json()
    assert me["roles"] == ["budget_editor", "it_admin"] and me["org_id"] == tree["bureau"]["id"]
    # Moving a user out of the admin's subtree is refused as if the org did not exist.
    problem(await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub,
                               json={"org_id": tree["other"]["id"]}), 404, "not-found")
    problem(await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={"roles": ["pope"]}),
            422, "validation-error")
    problem(await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={"email": "not-mail"}),
            422, "validation-error")
    problem(await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={"username": "x"}),
            422, "validation-error")
    async with gateway.db.session() as session:
        from kernel.schema import outbox
        changes = (await session.execute(sa.select(outbox.c.payload)
                                         .where(outbox.c.subject == "identity.user.changed"))).scalars().all()
    # The services' copies of the user (licenses' known_users) follow its org from this event.
    moved = json.loads(changes[-1])["data"]
    assert (moved["user_id"], moved["org_id"]) == (teacher_id, tree["bureau"]["id"])
    assert moved["org_path"] == tree["bureau"]["path"] and moved["roles"] == ["budget_editor", "it_admin"]


async def test_a_disabled_user_cannot_sign_in_and_its_tokens_are_refused_at_once(gateway, admin, tree):
    client, sub, teacher_id = gateway.client, tree["bureau_admin"], tree["teacher"]["id"]
    teacher = await bearer(client, "teacher")
    off = await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    problem(await client.get("/api/v1/identity/me", headers=teacher), 401, "user-disabled")
    refused = await client.post("/auth/token", data={"username": "teacher", "password": PASSWORD})
    wrong = await client.post("/auth/token", data={"username": "teacher", "password": "wrong-password"})
    assert refused.status_code == 401 and refused.json() == wrong.json()
    async with gateway.db.session() as session:
        from kernel.schema import outbox
        subjects = (await session.execute(sa.select(outbox.c.subject))).scalars().all()
    assert "identity.user.disabled" in subjects
    # Enabled again, the user signs in again.
    on = await client.patch(f"/api/v1/identity/users/{teacher_id}", headers=sub, json={"disabled": False})
    assert on.json()["disabled"] is False
    assert (await client.get("/api/v1/identity/me", headers=await bearer(client, "teacher"))).status_code == 200


async def test_nobody_disables_themselves_or_the_last_admin(gateway, admin, tree):
    client = gateway.client
    me = (await client.get("/api/v1/identity/me", headers=admin)).json()
    problem(await client.patch(f"/api/v1/identity/users/{me['id']}", headers=admin, json={"disabled": True}),
            409, "self-disable")
    second = await make_user(client, admin, "second-admin", tree["root"], ["admin"])
    second_headers = await bearer(client, "second-admin")
    # Taking admin away from the only other root admin is fine while `admin` stays…
    assert (await client.patch(f"/api/v1/identity/users/{second['id']}", headers=admin,
                               json={"roles": ["auditor"]})).status_code == 200
    await client.patch(f"/api/v1/identity/users/{second['id']}", headers=admin, json={"roles": ["admin"]})
    assert (await client.patch(f"/api/v1/identity/users/{me['id']}", headers=second_headers,
                               json={"disabled": True})).status_code == 200
    # …but the last enabled root admin keeps its role, its org and its access.
    second_again = await bearer(client, "second-admin")
    for change in ({"roles": ["auditor"]}, {"org_id": tree["bureau"]["id"]}):
        problem(await client.patch(f"/api/v1/identity/users/{second['id']}", headers=second_again, json=change),
                409, "last-admin")


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a race of row locks: PostgreSQL only")
async def test_two_admins_disabling_each_other_at_once_leave_one(gateway, admin, tree):
    client = gateway.client
    for round_ in range(ROUNDS):
        a = await make_user(client, admin, f"racer-a{round_}", tree["root"], ["admin"])
        b = await make_user(client, admin, f"racer-b{round_}", tree["root"], ["admin"])
        # The admin of the round before steps back, so that a and b are the last two.
        me = (await client.get("/api/v1/identity/me", headers=admin)).json()
        a_headers, b_headers = await bearer(client, a["username"]), await bearer(client, b["username"])
        stepped_back = await client.patch(f"/api/v1/identity/users/{me['id']}", headers=a_headers,
                                          json={"disabled": True})
        assert stepped_back.status_code == 200, stepped_back.text
        answers = await asyncio.gather(
            client.patch(f"/api/v1/identity/users/{b['id']}", headers=a_headers, json={"disabled": True}),
            client.patch(f"/api/v1/identity/users/{a['id']}", headers=b_headers, json={"disabled": True}))
        winner = one_winner(list(answers), slug="last-admin", winners=(200,))
        assert winner.json()["disabled"] is True
        survivor = a if winner.json()["id"] == b["id"] else b
        admin = await bearer(client, survivor["username"])


async def test_password_rules_and_username_bounds(gateway, admin, tree):
    client, sub = gateway.client, tree["bureau_admin"]
    base = {"org_id": tree["school"]["id"], "roles": ["budget_editor"]}
    for weak, needs in (("Short-1", "10 characters"), ("alllowercaseletters", "3 of"),
                        ("Kim-Teacher-2026", "differ from the username")):
        body = problem(await client.post("/api/v1/identity/users", headers=sub,
                                         json=base | {"username": "kim-teacher-2026", "password": weak}),
                       422, "weak-password")
        assert needs in body["detail"], body
    for bad in ("has space", "x" * 300, "中文名"):
        problem(await client.post("/api/v1/identity/users", headers=sub,
                                  json=base | {"username": bad, "password": PASSWORD}), 422, "validation-error")


async def test_a_user_changes_their_own_password(gateway, admin, tree):
    client = gateway.client
    teacher = await bearer(client, "teacher")
    problem(await client.post("/api/v1/identity/me/password", headers=teacher,
                              json={"old_password": "not-it", "new_password": "New-pass-2027"}), 403, "wrong-password")
    problem(await client.post("/api/v1/identity/me/password", headers=teacher,
                              json={"old_password": PASSWORD, "new_password": "weak"}), 422, "weak-password")
    done = await client.post("/api/v1/identity/me/password", headers=teacher,
                             json={"old_password": PASSWORD, "new_password": "New-pass-2027"})
    assert done.status_code == 204, done.text
    assert (await client.post("/auth/token", data={"username": "teacher", "password": PASSWORD})).status_code == 401
    assert await token(client, "teacher", "New-pass-2027")


async def test_a_reset_password_signs_in_once_and_allows_only_the_change(gateway, admin, tree):
    client, sub, teacher_id = gateway.client, tree["bureau_admin"], tree["teacher"]["id"]
    problem(await client.post(f"/api/v1/identity/users/{tree['stranger']['id']}/password-reset", headers=sub),
            404, "not-found")
    reset = await client.post(f"/api/v1/identity/users/{teacher_id}/password-reset", headers=sub)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert len(temporary) >= 10
    user = (await client.get(f"/api/v1/identity/users/{teacher_id}", headers=sub)).json()
    assert user["must_change_password"] is True
    assert (await client.post("/auth/token", data={"username": "teacher", "password": PASSWORD})).status_code == 401

    once = {"Authorization": f"Bearer {await token(client, 'teacher', temporary)}"}
    for method, path in (("GET", "/api/v1/identity/me"), ("GET", "/api/v1/identity/orgs"),
                         ("GET", "/api/v1/budget/lines"), ("POST", "/api/v1/licenses/devices")):
        problem(await client.request(method, path, headers=once), 403, "password-change-required")
    # It signs in once only.
    second = await client.post("/auth/token", data={"username": "teacher", "password": temporary})
    assert second.status_code == 401 and second.json()["type"].endswith("/invalid-credentials")
    changed = await client.post("/api/v1/identity/me/password", headers=once,
                                json={"old_password": temporary, "new_password": "Chosen-pass-99"})
    assert changed.status_code == 204, changed.text
    fresh = await bearer(client, "teacher", "Chosen-pass-99")
    assert (await client.get("/api/v1/identity/me", headers=fresh)).json()["username"] == "teacher"
    assert (await client.get(f"/api/v1/identity/users/{teacher_id}", headers=sub)).json()[
        "must_change_password"] is False


async def test_api_keys_expire_and_say_when_they_were_last_used(gateway, admin, tree):
    client, sub = gateway.client, tree["bureau_admin"]
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    problem(await client.post("/api/v1/identity/api-keys", headers=sub, json={
        "name": "old", "org_id": tree["school"]["id"], "roles": ["it_admin"], "expires_at": past}),
        422, "invalid-input")
    problem(await client.post("/api/v1/identity/api-keys", headers=sub, json={
        "name": "naive", "org_id": tree["school"]["id"], "roles": ["it_admin"], "expires_at": "2030-01-01T00:00:00"}),
        422, "validation-error")
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    created = await client.post("/api/v1/identity/api-keys", headers=sub, json={
        "name": "inventory script", "org_id": tree["school"]["id"], "roles": ["it_admin"],
        "expires_at": expires.isoformat()})
    assert created.status_code == 201, created.text
    key = created.json()
    listed = (await client.get("/api/v1/identity/api-keys", headers=sub)).json()["items"]
    [row] = [k for k in listed if k["id"] == key["id"]]
    assert row["last_used_at"] is None and row["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    assert "key" not in row and "key_hash" not in row
    script = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get("/api/v1/identity/me", headers=script)).status_code == 200
    listed = (await client.get("/api/v1/identity/api-keys", headers=sub)).json()["items"]
    [row] = [k for k in listed if k["id"] == key["id"]]
    assert row["last_used_at"] is not None
    # Past its expiry the key is refused at once.
    async with gateway.db.session() as session:
        await session.execute(sa.update(ApiKey).where(ApiKey.prefix == key["prefix"])
                              .values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    problem(await client.get("/api/v1/identity/me", headers=script), 401, "invalid-api-key")
