"""Events in and out of the licenses service, and who may see and change pools."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kernel.contracts import OrderDelivered
from kernel.events import new_event
from kernel.schema import outbox
from tests.licenses.conftest import PREFIX, allocate, make_device, make_devices, make_pool
from tests.support.apps import eventually, put_as_read
from tests.support.events import all_published, publish, published


def delivered(org_id: uuid.UUID, order_id: uuid.UUID, product_id: uuid.UUID, quantity: int = 20):
    return new_event("procurement.order.delivered", OrderDelivered(
        order_id=order_id, org_id=org_id, budget_line_id=uuid.uuid4(), amount_fen=quantity * 55000,
        supplier_org_id=uuid.uuid4(), product_id=product_id, product_name="WPS Office 专业版", vendor="金山办公",
        category="office", metric="device", quantity=quantity, term_months=None, valid_from=None, valid_to=None),
        source="zhengban/procurement", about=order_id)


async def test_a_delivered_order_becomes_one_entitlement_however_often_it_arrives(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    order_id, product_id = uuid.uuid4(), uuid.uuid4()
    first = delivered(tree["dept_a"].id, order_id, product_id)
    # The same event twice, and the same delivery again under a new event id (a producer retry).
    await publish(nats.url, first, first, delivered(tree["dept_a"].id, order_id, product_id))

    async def pool():
        pools = (await licenses.client.get(f"{PREFIX}/pools", params={"product_id": str(product_id)},
                                           headers=admin.headers)).json()["items"]
        return pools[0] if pools else None

    found = await eventually(pool)
    added = await published(nats.url, "licenses.entitlement.added", count=1)
    assert added[0]["data"]["reference"] == str(order_id) and added[0]["data"]["source"] == "order"
    entitlements = (await licenses.client.get(f"{PREFIX}/entitlements", params={"pool_id": found["id"]},
                                              headers=admin.headers)).json()["items"]
    assert [(e["source"], e["reference"], e["quantity"]) for e in entitlements] == [("order", str(order_id), 20)]
    assert (await pool())["total"] == 20
    # The history says why the pool grew: the event's type, as in the budget's and procurement's.
    history = (await licenses.client.get(f"{PREFIX}/pools/{found['id']}/history", headers=admin.headers)).json()
    assert [(h["action"], h["actor"]) for h in history["items"]] == [
        ("entitlement_added", f"event:{first.type}")]


async def test_deliveries_arriving_together_each_add_their_seats_once(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    office, antivirus = uuid.uuid4(), uuid.uuid4()
    orders = [uuid.uuid4() for _ in range(3)]
    unit = tree["dept_a"].id
    deliveries = [delivered(unit, orders[0], office, 5), delivered(unit, orders[1], office, 7),
                  delivered(unit, orders[2], antivirus, 3)]
    # Published back to back, so that the consumer takes several in one fetch; the first again under
    # a new event id (a producer retry) adds nothing.
    await publish(nats.url, *deliveries, delivered(unit, orders[0], office, 5))

    async def pools():
        found = {}
        for product in (office, antivirus):
            items = (await licenses.client.get(f"{PREFIX}/pools", params={"product_id": str(product)},
                                               headers=admin.headers)).json()["items"]
            found[product] = items[0] if items else None
        return found if all(found.values()) and found[office]["total"] >= 12 else None

    found = await eventually(pools)
    added = await published(nats.url, "licenses.entitlement.added", count=3)
    assert sorted((e["data"]["reference"], e["data"]["quantity"]) for e in added) == sorted(
        (str(order), n) for order, n in zip(orders, (5, 7, 3), strict=True))
    # Each announcement says which delivery caused it.
    assert {e["data"]["reference"]: e["causationid"] for e in added} == {
        str(d.payload(OrderDelivered).order_id): str(d.id) for d in deliveries}
    assert (found[office]["total"], found[antivirus]["total"]) == (12, 3)
    history = (await licenses.client.get(f"{PREFIX}/pools/{found[office]['id']}/history",
                                         headers=admin.headers)).json()["items"]
    assert sorted(h["data"]["reference"] for h in history) == sorted(str(o) for o in orders[:2])


async def test_allocations_announce_themselves_and_a_low_pool(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    await put_as_read(licenses.client, f"{PREFIX}/pools/{pool['id']}", headers=admin.headers, json={"low_threshold": 2})
    devices = await make_devices(licenses, admin, 3, "low")
    for device in devices:
        assert (await allocate(licenses, admin, pool["id"], device)).status_code == 201
    seats = await published(nats.url, "licenses.seat.allocated", count=3)
    assert sorted(e["data"]["assignee_id"] for e in seats) == sorted(devices)
    assert all(e["type"] == "licenses.seat.allocated.v1" and e["id"] for e in seats)

    async def outbox_empty():
        async with licenses.db.session() as session:
            return (await session.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.published_at.is_(None)))).scalar() == 0

    # Once every event of the three allocations is on the stream, count the low-pool ones: announced
    # once, when available fell below 2 (to 1), not again at 0.
    await eventually(outbox_empty)
    low = await all_published(nats.url, "licenses.pool.low")
    assert [e["data"] for e in low] == [{"pool_id": pool["id"], "org_id": str(tree["dept_a"].id), "available": 1,
                                         "threshold": 2}]


async def test_only_it_admins_over_the_pool_see_and_change_it(licenses, tree):
    owner = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, owner, quantity=5)
    device = await make_device(licenses, owner, "Z-1")
    for stranger in (tree.actor("dept_b", "it_admin"), tree.actor("school_a1", "it_admin"),
                     tree.actor("supplier_x", "supplier")):
        assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=stranger.headers)).status_code == 404
        refused = await allocate(licenses, stranger, pool["id"], device["id"])
        assert refused.status_code == 404 and refused.json()["type"].endswith("/not-found")
        listed = await licenses.client.get(f"{PREFIX}/pools", headers=stranger.headers)
        assert listed.json()["items"] == []
    parent = tree.actor("province", "it_admin")
    from_parent = await make_device(licenses, parent, "FROM-PARENT", org=tree["dept_a"])
    assert (await allocate(licenses, parent, pool["id"], from_parent["id"])).status_code == 201

    auditor = tree.actor("dept_a", "auditor")
    assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=auditor.headers)).status_code == 200
    compliance = await licenses.client.get(f"{PREFIX}/compliance", params={"org_id": str(tree["dept_a"].id)},
                                           headers=auditor.headers)
    assert compliance.status_code == 200 and compliance.json()["computers"]["total"] == 2
    refused = await allocate(licenses, auditor, pool["id"], device["id"])
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    editor = tree.actor("dept_a", "budget_editor")
    assert (await allocate(licenses, editor, pool["id"], device["id"])).status_code == 403
    pool_now = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=owner.headers)).json()
    assert pool_now["allocated"] == 1
