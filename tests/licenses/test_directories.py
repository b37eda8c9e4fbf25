"""Event handlers and requests use the same org and user directories: what this service has not
heard of yet (its identity events have not arrived) it asks the real gateway, instead of parking
the event or refusing the request."""

from __future__ import annotations

import asyncio
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
from tests.licenses.conftest import PREFIX, allocate
from tests.support.apps import eventually
from tests.support.events import publish
from tests.support.identity import Actor
from zhengban.nats_server import free_port

PASSWORD = "admin-pass-for-directory-tests"


@pytest.fixture
async def gateway_url(databases, nats, tmp_path):
    """The real gateway on a port, with its outbox relay off: its identity events never leave, so
    the licenses service can only learn its orgs and users by asking it."""
    port = free_port()
    app = create_gateway(GatewaySettings(database_url=await databases.fresh("gateway"), nats_url=nats.url,
                                         data_dir=tmp_path, admin_password=PASSWORD, run_background=False,
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
