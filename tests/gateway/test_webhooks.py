"""Webhooks: the events of an org's subtree reach the subscribed URL signed as Standard Webhooks
(checked with the reference verifier), retried while the receiver is down, each attempt logged;
another subtree's events never reach it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
import sqlalchemy as sa
from aiohttp import web
from standardwebhooks.webhooks import Webhook as Verifier

from gateway.webhooks.models import WebhookDelivery
from tests.gateway.conftest import ADMIN_PASSWORD, gateway_app, token
from tests.support.apps import eventually
from zhengban.ports import free_port

PREFIX = "/api/v1/identity"


@pytest.fixture
async def gateway(databases, nats, tmp_path):
    """The gateway with retries a test can wait for: 0.2 s apart, given up after 3 s."""
    async with gateway_app(databases, nats, tmp_path, webhook_poll_seconds=0.1, webhook_retry_schedule_seconds=[0.2],
                           webhook_retry_for_seconds=3) as running:
        yield running


class Receiver:
    """A real HTTP server on a port of its own that answers `statuses` in turn (then 200), and
    keeps each request's headers and body."""

    def __init__(self, port: int, statuses: list[int] | None = None):
        self.port, self.statuses, self.received = port, list(statuses or []), []
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


@contextlib.asynccontextmanager
async def receiving(port: int | None = None, statuses: list[int] | None = None):
    receiver = await Receiver(port or free_port(), statuses).start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def admin_headers(gateway) -> dict:
    return {"Authorization": f"Bearer {await token(gateway.client, 'admin', ADMIN_PASSWORD)}"}


async def root_id(gateway, headers) -> str:
    orgs = (await gateway.client.get(f"{PREFIX}/orgs", headers=headers)).json()["items"]
    return next(org["id"] for org in orgs if org["parent_id"] is None)


async def make_org(gateway, headers, name: str, parent_id: str) -> str:
    resp = await gateway.client.post(f"{PREFIX}/orgs", headers=headers,
                                     json={"name": name, "kind": "unit", "parent_id": parent_id})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def subscribe(gateway, headers, org_id: str, url: str, events=("identity.org.created",)) -> dict:
    resp = await gateway.client.post(f"{PREFIX}/webhooks", headers=headers,
                                     json={"org_id": org_id, "url": url, "events": list(events)})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def attempts(gateway, headers, webhook_id: str) -> list[dict]:
    resp = await gateway.client.get(f"{PREFIX}/webhooks/{webhook_id}/deliveries", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_an_event_arrives_signed_and_the_reference_verifier_accepts_it(gateway):
    headers = await admin_headers(gateway)
    root = await root_id(gateway, headers)
    async with receiving() as receiver:
        hook = await subscribe(gateway, headers, root, receiver.url)
        assert hook["secret"].startswith("whsec_") and hook["events"] == ["identity.org.created"]
        listed = (await gateway.client.get(f"{PREFIX}/webhooks", headers=headers)).json()["items"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]  # shown once

        org_id = await make_org(gateway, headers, "省教育厅", root)
        await eventually(lambda: asyncio.sleep(0, receiver.received))

    (sent_headers, body), = receiver.received
    event = Verifier(hook["secret"]).verify(body, sent_headers)  # raises unless the signature holds
    assert event["type"] == "identity.org.created.v1" and event["data"]["org_id"] == org_id
    assert sent_headers["webhook-id"] == event["id"]
    with pytest.raises(Exception, match="signature"):
        Verifier("whsec_" + "A" * 43 + "=").verify(body, sent_headers)
    # The attempt is written once the receiver has answered.
    (attempt,) = await eventually(lambda: _outcomes(gateway, headers, hook["id"], until="delivered"))
    assert (attempt["attempt"], attempt["status_code"], attempt["outcome"], attempt["event_id"]) == (
        1, 200, "delivered", event["id"])


async def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_back(gateway):
    headers = await admin_headers(gateway)
    root = await root_id(gateway, headers)
    port = free_port()  # nothing listens yet: connection refused
    hook = await subscribe(gateway, headers, root, f"http://127.0.0.1:{port}/hook")
    await make_org(gateway, headers, "省卫健委", root)
    await eventually(lambda: _outcomes(gateway, headers, hook["id"], at_least=2))
    async with receiving(port, statuses=[503]) as receiver:  # back, but answers 503 once more
        tried = await eventually(lambda: _outcomes(gateway, headers, hook["id"], until="delivered"))
    assert len(receiver.received) == 2
    refused = [a for a in tried if a["status_code"] is None]
    assert len(refused) >= 2 and all(a["error"] and a["outcome"] == "retrying" for a in refused)
    assert [a["status_code"] for a in tried[len(refused):]] == [503, 200]
    assert [a["attempt"] for a in tried] == list(range(1, len(tried) + 1))
    # The same event each time, under the same webhook-id.
    assert len({a["event_id"] for a in tried}) == 1
    assert {h["webhook-id"] for h, _ in receiver.received} == {tried[0]["event_id"]}


async def test_a_delivery_is_given_up_after_the_retry_window(gateway):
    headers = await admin_headers(gateway)
    root = await root_id(gateway, headers)
    async with receiving(statuses=[500] * 1000) as receiver:
        hook = await subscribe(gateway, headers, root, receiver.url)
        await make_org(gateway, headers, "省审计厅", root)
        tried = await eventually(lambda: _outcomes(gateway, headers, hook["id"], until="failed"), timeout=20)
        assert len(receiver.received) == len(tried) >= 2
    assert all(a["outcome"] == "retrying" for a in tried[:-1]) and tried[-1]["status_code"] == 500
    # Given up for good: no longer due, so the sender never picks it again.
    assert await owed(gateway) == {(hook["id"], "failed")}


async def test_a_subscriber_gets_only_its_subtrees_events_and_only_those_it_asked_for(gateway):
    headers = await admin_headers(gateway)
    root = await root_id(gateway, headers)
    east, west = await make_org(gateway, headers, "东区", root), await make_org(gateway, headers, "西区", root)
    async with receiving() as everything, receiving() as east_only, receiving() as renames:
        hooks = [await subscribe(gateway, headers, root, everything.url),
                 await subscribe(gateway, headers, east, east_only.url),
                 await subscribe(gateway, headers, root, renames.url, events=["identity.org.updated"])]
        east_school = await make_org(gateway, headers, "东区一中", east)
        west_school = await make_org(gateway, headers, "西区一中", west)
        # An event's deliveries to every webhook are made in one transaction: once the root's
        # receiver has both events, every delivery there will be exists, and all are sent.
        await eventually(lambda: asyncio.sleep(0, len(everything.received) >= 2))
        await eventually(lambda: owed(gateway, status="pending", none=True))
    created = [uuid.UUID(_event(body)["data"]["org_id"]) for _, body in everything.received]
    assert set(created) == {uuid.UUID(east_school), uuid.UUID(west_school)}
    assert [_event(body)["data"]["org_id"] for _, body in east_only.received] == [east_school]
    assert renames.received == []
    assert sorted(await owed(gateway)) == sorted({(hooks[0]["id"], "delivered"), (hooks[1]["id"], "delivered")})


async def test_only_an_admin_over_the_org_manages_webhooks_and_bad_input_is_422(gateway):
    headers = await admin_headers(gateway)
    root = await root_id(gateway, headers)
    unit = await make_org(gateway, headers, "某单位", root)
    other = await make_org(gateway, headers, "另一单位", root)
    resp = await gateway.client.post(f"{PREFIX}/users", headers=headers, json={
        "username": "unit-admin", "password": "Unit-admin-2026!", "org_id": unit, "roles": ["admin"]})
    assert resp.status_code == 201, resp.text
    resp = await gateway.client.post(f"{PREFIX}/users", headers=headers, json={
        "username": "unit-it", "password": "Unit-it-2026!", "org_id": unit, "roles": ["it_admin"]})
    assert resp.status_code == 201, resp.text
    unit_admin = {"Authorization": f"Bearer {await token(gateway.client, 'unit-admin', 'Unit-admin-2026!')}"}
    unit_it = {"Authorization": f"Bearer {await token(gateway.client, 'unit-it', 'Unit-it-2026!')}"}
    others = await subscribe(gateway, headers, other, "https://hooks.example.cn/a")

    body = {"org_id": unit, "url": "https://hooks.example.cn/b", "events": ["licenses.pool.low"]}
    assert (await gateway.client.post(f"{PREFIX}/webhooks", headers=unit_it, json=body)).status_code == 403
    assert (await gateway.client.post(f"{PREFIX}/webhooks", headers=unit_admin,
                                      json={**body, "org_id": other})).status_code == 404
    for path in (f"/webhooks/{others['id']}", f"/webhooks/{others['id']}/deliveries"):
        assert (await gateway.client.get(PREFIX + path, headers=unit_admin)).status_code == 404
    assert (await gateway.client.delete(f"{PREFIX}/webhooks/{others['id']}", headers=unit_admin)).status_code == 404
    for bad in ({"url": "ftp://hooks.example.cn/x"}, {"url": "hooks.example.cn"}, {"events": ["licenses.nothing"]},
                {"events": []}, {"url": "https://x.cn/" + "a" * 2000}):
        resp = await gateway.client.post(f"{PREFIX}/webhooks", headers=unit_admin, json={**body, **bad})
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json", bad

    mine = (await gateway.client.post(f"{PREFIX}/webhooks", headers=unit_admin, json=body)).json()
    listed = (await gateway.client.get(f"{PREFIX}/webhooks", headers=unit_admin)).json()["items"]
    assert [h["id"] for h in listed] == [mine["id"]]
    assert (await gateway.client.delete(f"{PREFIX}/webhooks/{mine['id']}", headers=unit_admin)).status_code == 204
    assert (await gateway.client.get(f"{PREFIX}/webhooks/{mine['id']}", headers=unit_admin)).status_code == 404


async def _outcomes(gateway, headers, webhook_id, *, at_least: int = 1, until: str | None = None):
    tried = await attempts(gateway, headers, webhook_id)
    if len(tried) < at_least or (until and (not tried or tried[-1]["outcome"] != until)):
        return None
    return tried


async def owed(gateway, *, status: str | None = None, none: bool = False):
    """(webhook id, status) of every delivery in the gateway's database; with `none`, True when
    there is no delivery of `status`."""
    async with gateway.db.session() as session:
        query = sa.select(WebhookDelivery.webhook_id, WebhookDelivery.status)
        if status:
            query = query.where(WebhookDelivery.status == status)
        rows = {(str(webhook_id), state) for webhook_id, state in (await session.execute(query)).all()}
    return not rows if none else rows


def _event(body: bytes) -> dict:
    import json

    return json.loads(body)
