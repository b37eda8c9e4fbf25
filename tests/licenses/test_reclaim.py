"""Every way a seat comes back: retirement, inactivity runs, subscription expiry; and transfers."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from kernel.ids import utcnow
from services.licenses.devices.models import Device
from services.licenses.expiry.service import expire_due
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


async def test_retiring_a_device_reclaims_its_seats(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=2)
    antivirus = await make_pool(licenses, admin, quantity=2, product="火绒终端", category="antivirus")
    device = await make_device(licenses, admin, "R-1")
    for pool in (office, antivirus):
        assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/retire", headers=admin.headers)
    assert resp.status_code == 200
    assert resp.json()["status"] == "retired" and resp.json()["seats_reclaimed"] == 2
    for pool in (office, antivirus):
        after = await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)
        assert after.json()["allocated"] == 0
    seats = (await licenses.client.get(f"{PREFIX}/allocations", params={"assignee_id": device["id"]},
                                       headers=admin.headers)).json()["items"]
    assert {(s["status"], s["reason"]) for s in seats} == {("reclaimed", "device retired")}
    again = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/retire", headers=admin.headers)
    assert again.status_code == 409


async def test_a_reclaim_run_lists_then_takes_seats_of_inactive_devices(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10)
    never, stale, active = [await make_device(licenses, admin, tag) for tag in ("N-1", "S-1", "A-1")]
    for device in (never, stale, active):
        assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    for device in (stale, active):
        report = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                            json={"software": []})
        assert report.status_code == 200
    # The stale device last reported 40 days ago.
    async with licenses.db.session() as session:
        await session.execute(sa.update(Device).where(Device.asset_tag == "S-1")
                               .values(last_seen_at=utcnow() - timedelta(days=40)))
        await session.commit()
    body = {"org_id": str(tree["dept_a"].id), "inactive_days": 30, "max_seats": 10, "dry_run": True}
    preview = await licenses.client.post(f"{PREFIX}/reclaim-runs", headers=admin.headers, json=body)
    assert preview.status_code == 201, preview.text
    # Never seen first, then the longest idle; the active device keeps its seat.
    assert [s["device_id"] for s in preview.json()["seats"]] == [never["id"], stale["id"]]
    assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()["allocated"] == 3
    capped = await licenses.client.post(f"{PREFIX}/reclaim-runs", headers=admin.headers,
                                        json={**body, "dry_run": False, "max_seats": 1})
    assert [s["device_id"] for s in capped.json()["seats"]] == [never["id"]]
    assert capped.json()["seats"][0]["reason"] == "device inactive for 30 days or more"
    rest = await licenses.client.post(f"{PREFIX}/reclaim-runs", headers=admin.headers, json={**body, "dry_run": False})
    assert [s["device_id"] for s in rest.json()["seats"]] == [stale["id"]]
    assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()["allocated"] == 1
    fetched = await licenses.client.get(f"{PREFIX}/reclaim-runs/{rest.json()['id']}", headers=admin.headers)
    assert fetched.json()["seats"] == rest.json()["seats"]


async def test_expiry_removes_the_seats_and_reclaims_the_excess_idle_first(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    soon = utcnow() + timedelta(hours=1)
    await make_pool(licenses, admin, quantity=2)  # perpetual
    pool = await make_pool(licenses, admin, quantity=2, reference="订阅", valid_to=soon.isoformat())
    assert pool["total"] == 4 and pool["next_expiry"] is not None
    seen, idle, newest = [await make_device(licenses, admin, tag) for tag in ("E-1", "E-2", "E-3")]
    for device in (seen, idle, newest):
        assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    await licenses.client.post(f"{PREFIX}/devices/{seen['id']}/inventory", headers=admin.headers, json={"software": []})
    # Nothing expires before valid_to.
    assert await expire_due(licenses.db, utcnow()) == 0
    assert await expire_due(licenses.db, soon + timedelta(seconds=1)) == 1
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert (after["total"], after["allocated"], after["next_expiry"]) == (2, 2, None)
    reclaimed = (await licenses.client.get(f"{PREFIX}/allocations", params={"pool_id": pool["id"],
                                                                            "status": "reclaimed"},
                                           headers=admin.headers)).json()["items"]
    # Of the two never-seen devices the newest allocation goes; the device that reported stays.
    assert [(a["assignee_id"], a["reason"]) for a in reclaimed] == [(newest["id"], "subscription expired")]
    assert await expire_due(licenses.db, soon + timedelta(seconds=2)) == 0  # once only
    one_more = await make_device(licenses, admin, "ONE-MORE")
    refused = await allocate(licenses, admin, pool["id"], one_more["id"])
    assert refused.status_code == 409


async def test_transfers_move_idle_seats_inside_the_subtree(licenses, tree):
    province = tree.actor("province", "it_admin")
    pool = await make_pool(licenses, province, org=tree["dept_a"], quantity=5)
    busy = await make_device(licenses, province, "BUSY-1", org=tree["dept_a"])
    assert (await allocate(licenses, province, pool["id"], busy["id"])).status_code == 201
    body = {"from_pool_id": pool["id"], "to_org_id": str(tree["dept_b"].id), "seats": 3, "reason": "调配给教育处"}
    moved = await licenses.client.post(f"{PREFIX}/transfers", headers=province.headers, json=body)
    assert moved.status_code == 201, moved.text
    target = (await licenses.client.get(f"{PREFIX}/pools/{moved.json()['to_pool_id']}",
                                        headers=province.headers)).json()
    source = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=province.headers)).json()
    assert (source["total"], source["allocated"]) == (2, 1)
    assert (target["org_id"], target["total"], target["product_name"]) == (str(tree["dept_b"].id), 3, "WPS Office 2019")
    too_many = await licenses.client.post(f"{PREFIX}/transfers", headers=province.headers, json={**body, "seats": 2})
    assert too_many.status_code == 409 and too_many.json()["type"].endswith("/not-enough-idle-seats")
    # dept_a's own admin cannot push seats to a sibling outside its subtree.
    dept_admin = tree.actor("dept_a", "it_admin")
    outside = await licenses.client.post(f"{PREFIX}/transfers", headers=dept_admin.headers, json={**body, "seats": 1})
    assert outside.status_code == 404
    history = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}/history",
                                         headers=province.headers)).json()["items"]
    assert [h["action"] for h in history] == ["entitlement_added", "transferred_out"]
