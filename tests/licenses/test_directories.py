"""Event handlers and requests use the same org and user directories: what this service has not
heard of yet (its identity events have not arrived) it asks the real gateway, instead of parking
the event or refusing the request."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from kernel.contracts import OrderDelivered
from kernel.events import new_event
from kernel.orgs import OrgRef
from kernel.schema import dead_letters
from services.licenses.users.models import KnownUser
from tests.licenses.conftest import PREFIX, allocate, make_pool
from tests.support.apps import eventually
from tests.support.events import publish
from tests.support.identity import Actor
from zhengban.ports import free_port

PASSWORD = "admin-pass-for-directory-tests"


@contextlib.asynccontextmanager
async def serving_gateway(databases, nats, tmp_path, *, relay: bool):
    """The real gateway on a port; with `relay`, its outbox relay on (its events reach NATS)."""
    port = free_port()
    app = create_gateway(GatewaySettings(database_url=await databases.fresh("gateway"), nats_url=nats.url,
                                         data_dir=tmp_path, admin_password=PASSWORD, run_background=relay,
                                         port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async def started() -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.05)

    await asyncio.wait_for(started(), 30)  # a gateway that never starts fails the test, not hangs it
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def gateway_url(databases, nats, tmp_path):
    """The gateway with its outbox relay off: its identity events never leave, so the licenses
    service can only learn its orgs and users by asking it."""
    async with serving_gateway(databases, nats, tmp_path, relay=False) as url:
        yield url


async def test_a_delivery_for_an_org_created_while_licenses_was_away_becomes_seats(start_service, gateway_url,
                                                                                    keys, nats):
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        signed_in = await http.post("/auth/token", data={"username": "admin", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        root = (await http.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
        org = (await http.post("/api/v1/identity/orgs", headers=admin,
                               json={"name": "新设学校", "kind": "unit", "parent_id": root})).json()
        user = (await http.post("/api/v1/identity/users", headers=admin, json={
            "username": "new-teacher", "password": "teacher-password-1", "org_id": org["id"],
            "roles": ["procurement"]})).json()
    # One failure would park the event: nothing may fail.
    licenses = await start_service("licenses", gateway_url=gateway_url, max_delivery_attempts=1)
    order_id = uuid.uuid4()
    await publish(nats.url, new_event("procurement.order.delivered", OrderDelivered(
        order_id=order_id, org_id=org["id"], budget_line_id=uuid.uuid4(), amount_fen=1_200_000,
        supplier_org_id=uuid.uuid4(), product_id=uuid.uuid4(), product_name="WPS Office", vendor="金山办公",
        category="office", metric="user", quantity=20, term_months=None, valid_from=None, valid_to=None),
        source="zhengban/procurement", about=order_id))
    ref = OrgRef(uuid.UUID(org["id"]), uuid.UUID(root), org["name"], org["kind"], org["path"])
    subject = uuid.uuid4()
    it_admin = Actor(ref, ("it_admin",), subject, keys.mint(org=ref, roles=["it_admin"], subject=subject))

    async def seats():
        pools = (await licenses.client.get(f"{PREFIX}/pools", headers=it_admin.headers)).json()["items"]
        return pools[0] if pools and pools[0]["total"] == 20 else None

    pool = await eventually(seats, timeout=20)
    assert (pool["org_id"], pool["product_name"], pool["metric"]) == (org["id"], "WPS Office", "user")
    async with licenses.db.session() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(dead_letters))).scalar() == 0
    # A user the service never heard of gets a seat too: the gateway vouches for them.
    given = await allocate(licenses, it_admin, pool["id"], user["id"], "user")
    assert given.status_code == 201, given.text
    assert given.json()["assignee_id"] == user["id"]


async def test_a_user_moved_at_the_gateway_is_moved_in_licenses_by_the_event_it_publishes(
        start_service, databases, nats, tmp_path, keys):
    """PATCH /users/{id} with another org_id at the real gateway: its identity.user.changed goes
    through its outbox and NATS to the licenses service, whose copy of the user follows, so the user's
    seats are given in the new org's pools and no longer in the old org's."""
    async with serving_gateway(databases, nats, tmp_path, relay=True) as url, \
            httpx.AsyncClient(base_url=url) as http:
        signed_in = await http.post("/auth/token", data={"username": "admin", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        root = (await http.get("/api/v1/identity/me", headers=admin)).json()["org_id"]
        first, second = [(await http.post("/api/v1/identity/orgs", headers=admin, json={
            "name": name, "kind": "unit", "parent_id": root})).json() for name in ("第一中学", "第二中学")]
        user = (await http.post("/api/v1/identity/users", headers=admin, json={
            "username": "moving-teacher", "password": "Teacher-password-1", "org_id": first["id"],
            "roles": ["staff"]})).json()
        licenses = await start_service("licenses", gateway_url=url, max_delivery_attempts=1)

        def it_admin(org: dict) -> Actor:
            ref = OrgRef(uuid.UUID(org["id"]), uuid.UUID(root), org["name"], org["kind"], org["path"])
            subject = uuid.uuid4()
            return Actor(ref, ("it_admin",), subject, keys.mint(org=ref, roles=["it_admin"], subject=subject))

        async def known_in(org: dict):
            async with licenses.db.session() as session:
                row = await session.get(KnownUser, uuid.UUID(user["id"]))
            return (row is not None and str(row.org_id) == org["id"]) or None

        old_admin, new_admin = it_admin(first), it_admin(second)
        old_pool = await make_pool(licenses, old_admin, quantity=2, metric="user")
        new_pool = await make_pool(licenses, new_admin, quantity=2, metric="user")
        await eventually(lambda: known_in(first), timeout=20)  # from identity.user.created

        moved = await http.patch(f"/api/v1/identity/users/{user['id']}", headers=admin,
                                 json={"org_id": second["id"]})
        assert moved.status_code == 200 and moved.json()["org_id"] == second["id"]
        await eventually(lambda: known_in(second), timeout=20)
        there = await allocate(licenses, new_admin, new_pool["id"], user["id"], "user")
        assert there.status_code == 201 and there.json()["assignee_id"] == user["id"]
        here = await allocate(licenses, old_admin, old_pool["id"], user["id"], "user")
        assert here.status_code == 422 and here.json()["type"].endswith("/unknown-assignee")
