"""Identity at the gateway: sign-in, orgs as a tree, users, API keys, JWKS, events."""

from __future__ import annotations

import contextlib

import jwt
import nats as nats_client
from fastapi import FastAPI, Request

from kernel.auth import KeySet, TokenVerifier
from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import eventually, run_app, serving


async def make_org(client, headers, name, kind, parent_id):
    resp = await client.post("/api/v1/identity/orgs", headers=headers,
                             json={"name": name, "kind": kind, "parent_id": str(parent_id)})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_token_is_a_short_lived_eddsa_jwt_that_the_jwks_verifies(gateway):
    resp = await gateway.client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    body = resp.json()
    assert body["token_type"] == "bearer" and 300 <= body["expires_in"] <= 900
    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()
    assert jwt.get_unverified_header(body["access_token"])["kid"] in {k["kid"] for k in jwks["keys"]}
    verifier = TokenVerifier(KeySet(static_jwks=jwks), issuer="zhengban", audience="zhengban-api")
    principal = await verifier.verify(body["access_token"])
    assert principal.roles == frozenset({"admin"})
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert {"iss", "aud", "exp", "sub", "org_id", "roles"} <= set(claims)


async def test_wrong_password_is_a_401_problem(gateway):
    resp = await gateway.client.post("/auth/token", data={"username": "admin", "password": "nope"})
    assert resp.status_code == 401
    assert resp.json()["type"].endswith("/invalid-credentials")
    unknown = await gateway.client.post("/auth/token", data={"username": "ghost", "password": "nope"})
    assert unknown.json() == resp.json()  # says nothing about which part was wrong


async def test_org_tree_paths_and_subtree_visibility(gateway, admin):
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    assert me["username"] == "admin" and me["roles"] == ["admin"]
    province = await make_org(gateway.client, admin, "省财政厅", "finance_bureau", me["org_id"])
    dept = await make_org(gateway.client, admin, "教育厅", "unit", province["id"])
    other = await make_org(gateway.client, admin, "国资委", "sasac", me["org_id"])
    assert dept["path"].startswith(province["path"]) and dept["path"] != province["path"]

    user = await gateway.client.post("/api/v1/identity/users", headers=admin, json={
        "username": "fin", "password": "password-1", "org_id": province["id"], "roles": ["finance"]})
    assert user.status_code == 201 and user.json()["roles"] == ["finance"]
    fin = {"Authorization": f"Bearer {await token(gateway.client, 'fin', 'password-1')}"}

    listed = (await gateway.client.get("/api/v1/identity/orgs", headers=fin)).json()
    assert {o["id"] for o in listed["items"]} == {province["id"], dept["id"]}
    assert (await gateway.client.get(f"/api/v1/identity/orgs/{other['id']}", headers=fin)).status_code == 404
    # Only admin creates orgs: a finance officer is refused inside its own subtree…
    refused = await gateway.client.post("/api/v1/identity/orgs", headers=fin,
                                        json={"name": "x", "kind": "unit", "parent_id": province["id"]})
    assert refused.status_code == 403
    # …and an org outside its subtree is simply not there.
    hidden = await gateway.client.post("/api/v1/identity/orgs", headers=fin,
                                       json={"name": "x", "kind": "unit", "parent_id": other["id"]})
    assert hidden.status_code == 404


async def test_org_creation_is_announced_on_jetstream(gateway, admin, nats):
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    org = await make_org(gateway.client, admin, "某中学", "unit", me["org_id"])
    nc = await nats_client.connect(nats.url)
    try:
        sub = await nc.jetstream().pull_subscribe("identity.org.created", durable="t", stream="IDENTITY")

        async def announced():
            msgs = await sub.fetch(10, timeout=1)
            for msg in msgs:
                await msg.ack()
            return [m for m in msgs if org["id"] in m.data.decode()]

        msg = (await eventually(announced))[0]
        assert msg.headers["Nats-Msg-Id"]
        import json

        event = json.loads(msg.data)
        assert event["type"] == "identity.org.created.v1" and event["specversion"] == "1.0"
        assert event["data"]["path"] == org["path"] and msg.headers["Nats-Msg-Id"] == event["id"]
    finally:
        await nc.close()


async def test_api_key_is_shown_once_and_refused_after_delete(gateway, admin):
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    created = await gateway.client.post("/api/v1/identity/api-keys", headers=admin,
                                        json={"name": "provisioning", "org_id": me["org_id"], "roles": ["it_admin"]})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("zb_")
    listed = (await gateway.client.get("/api/v1/identity/api-keys", headers=admin)).json()["items"]
    assert [k["name"] for k in listed] == ["provisioning"] and "key" not in listed[0]

    as_key = {"Authorization": f"Bearer {key}"}
    who = (await gateway.client.get("/api/v1/identity/me", headers=as_key)).json()
    assert who == {"id": created.json()["id"], "username": None, "name": "provisioning", "org_id": me["org_id"],
                   "roles": ["it_admin"]}

    deleted = await gateway.client.delete(f"/api/v1/identity/api-keys/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204
    refused = await gateway.client.get("/api/v1/identity/me", headers=as_key)
    assert refused.status_code == 401 and refused.json()["type"].endswith("/invalid-api-key")


async def test_bad_input_is_a_422_problem_never_a_500(gateway, admin):
    resp = await gateway.client.post("/api/v1/identity/orgs", headers=admin,
                                     json={"name": "x", "kind": "castle", "parent_id": "not-a-uuid", "extra": 1})
    assert resp.status_code == 422
    body = resp.json()
    assert body["type"].endswith("/validation-error") and body["status"] == 422
    assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "kind"), ("body", "parent_id"), ("body", "extra")}
    too_many = await gateway.client.get("/api/v1/identity/orgs?limit=201", headers=admin)
    assert too_many.status_code == 422


async def test_unreachable_service_is_a_502_problem(gateway, admin):
    resp = await gateway.client.get("/api/v1/budget/lines", headers=admin)
    assert resp.status_code == 502
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "the budget service is not reachable right now"


async def test_internal_org_lookup_needs_the_internal_token(gateway, admin):
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    path = f"/internal/orgs/{me['org_id']}"
    assert (await gateway.client.get(path)).status_code == 404
    assert (await gateway.client.get(path, headers=admin)).status_code == 404
    token_header = {"Authorization": f"Bearer {gateway.app.state.settings.internal_token}"}
    assert (await gateway.client.get(path, headers=token_header)).json()["id"] == me["org_id"]


async def test_names_answers_only_the_ids_the_caller_may_see(gateway, admin):
    """Names for the caller's subtree (orgs, their users and API keys) in one call; an id outside it
    is named only if procurement says the caller meets it across subtrees — here procurement is not
    reachable, so nothing outside is named: absent, as an unknown id is."""
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    supplier = await make_org(gateway.client, admin, "金山办公软件有限公司", "supplier", me["org_id"])
    unit = await make_org(gateway.client, admin, "省第一中学", "unit", me["org_id"])
    buyer = (await gateway.client.post("/api/v1/identity/users", headers=admin, json={
        "username": "buyer", "password": "password-1", "org_id": unit["id"], "roles": ["procurement"],
        "display_name": "王采购"})).json()
    reader = await gateway.client.post("/api/v1/identity/users", headers=admin, json={
        "username": "seller", "password": "password-1", "org_id": supplier["id"], "roles": ["supplier"],
        "display_name": "李销售"})
    assert reader.status_code == 201
    seller = {"Authorization": f"Bearer {await token(gateway.client, 'seller', 'password-1')}"}
    asked = [("id", unit["id"]), ("id", buyer["id"]), ("id", unit["id"]), ("id", supplier["id"]),
             ("id", reader.json()["id"]), ("id", "01a00000-0000-7000-8000-000000000000")]
    answer = await gateway.client.get("/api/v1/identity/names", headers=seller, params=asked)
    assert answer.status_code == 200
    assert sorted((n["kind"], n["name"]) for n in answer.json()["items"]) == [
        ("org", "金山办公软件有限公司"), ("user", "李销售")]
    everything = await gateway.client.get("/api/v1/identity/names", headers=admin, params=asked)
    assert sorted((n["kind"], n["name"]) for n in everything.json()["items"]) == [
        ("org", "省第一中学"), ("org", "金山办公软件有限公司"), ("user", "李销售"), ("user", "王采购")]
    assert (await gateway.client.get(f"/api/v1/identity/orgs/{unit['id']}", headers=seller)).status_code == 404
    too_many = await gateway.client.get("/api/v1/identity/names", headers=seller,
                                        params=[("id", unit["id"])] * 201)
    assert too_many.status_code == 422
    assert (await gateway.client.get("/api/v1/identity/names", params={"id": unit["id"]})).status_code == 401


async def test_names_include_the_orgs_and_people_above_the_caller(gateway, admin):
    """A unit reads who approved or returned its line: the people of the orgs above it are named to
    it (its superiors), the people of a sibling org are not."""
    me = (await gateway.client.get("/api/v1/identity/me", headers=admin)).json()
    unit = await make_org(gateway.client, admin, "省第一中学", "unit", me["org_id"])
    sibling = await make_org(gateway.client, admin, "省第二中学", "unit", me["org_id"])
    other = (await gateway.client.post("/api/v1/identity/users", headers=admin, json={
        "username": "other-editor", "password": "password-1", "org_id": sibling["id"], "roles": ["budget_editor"],
        "display_name": "赵编辑"})).json()
    assert (await gateway.client.post("/api/v1/identity/users", headers=admin, json={
        "username": "editor", "password": "password-1", "org_id": unit["id"], "roles": ["budget_editor"],
        "display_name": "钱编辑"})).status_code == 201
    editor = {"Authorization": f"Bearer {await token(gateway.client, 'editor', 'password-1')}"}
    asked = [("id", me["org_id"]), ("id", me["id"]), ("id", sibling["id"]), ("id", other["id"])]
    answer = await gateway.client.get("/api/v1/identity/names", headers=editor, params=asked)
    assert sorted((n["kind"], n["id"]) for n in answer.json()["items"]) == sorted(
        [("org", me["org_id"]), ("user", me["id"])])


@contextlib.asynccontextmanager
async def procurement_meeting(met: set[str], asked: list):
    """A procurement upstream whose `GET /parties` says the caller meets `met` (and records asks)."""
    app = FastAPI()

    @app.get("/api/v1/procurement/parties")
    async def parties(request: Request):
        asked.append((request.query_params.getlist("id"), request.headers.get("authorization")))
        return {"items": [{"id": i} for i in request.query_params.getlist("id") if i in met]}

    async with serving(app) as url:
        yield url


async def test_names_outside_the_subtree_are_those_procurement_says_the_caller_meets(databases, nats, tmp_path):
    asked: list = []
    async with contextlib.AsyncExitStack() as stack:
        met: set[str] = set()
        upstream = await stack.enter_async_context(procurement_meeting(met, asked))
        gw = await stack.enter_async_context(run_app(
            "gateway", database_url=await databases.fresh("gateway"), nats_url=nats.url, data_dir=tmp_path,
            admin_password=ADMIN_PASSWORD, procurement_url=upstream))
        admin = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
        me = (await gw.client.get("/api/v1/identity/me", headers=admin)).json()
        lead = await make_org(gw.client, admin, "省采购中心", "procurement_center", me["org_id"])
        rival = await make_org(gw.client, admin, "永中软件", "supplier", me["org_id"])
        supplier = await make_org(gw.client, admin, "金山办公", "supplier", me["org_id"])
        await gw.client.post("/api/v1/identity/users", headers=admin, json={
            "username": "seller", "password": "password-1", "org_id": supplier["id"], "roles": ["supplier"]})
        seller = {"Authorization": f"Bearer {await token(gw.client, 'seller', 'password-1')}"}
        met.add(lead["id"])  # the campaign's lead: every invited supplier meets it
        answer = await gw.client.get("/api/v1/identity/names", headers=seller,
                                     params=[("id", lead["id"]), ("id", rival["id"]), ("id", supplier["id"])])
        assert sorted(n["name"] for n in answer.json()["items"]) == ["省采购中心", "金山办公"]
        # Procurement was asked about the ids outside the caller's subtree only, as the caller.
        assert [sorted(ids) for ids, _ in asked] == [sorted([lead["id"], rival["id"]])]
        assert asked[0][1] == seller["Authorization"]
