"""Per 98号 a computer holds at most one seat each of os, office and antivirus (SPEC Licenses): a
second seat of the category on the same device answers 409 category-already-licensed on every path
(single, batched, bulk); users and other categories are not limited; reclaiming frees the slot."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from kernel.ids import new_id, utcnow
from services.licenses.allocations.models import Allocation, AllocationEntry
from services.licenses.pools.models import Pool
from tests.licenses.conftest import PREFIX, allocate, make_device, make_devices, make_pool, make_user, set_policy

PROBLEM = "application/problem+json"


def refused_for_category(resp, category: str, limit: int = 1) -> None:
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["type"].endswith("/category-already-licensed") and body["status"] == 409 and body["title"], body
    assert (body["category"], body["seats_per_device"]) == (category, limit), body


async def bulk(svc, actor, pool_id: str, device_ids: list[str]) -> dict:
    resp = await svc.client.post(f"{PREFIX}/pools/{pool_id}/allocations:bulk", headers=actor.headers,
                                 json={"items": [{"assignee_type": "device", "assignee_id": d} for d in device_ids]})
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize(("category", "limited"), [("os", True), ("office", True), ("antivirus", True),
                                                   ("business", False), ("database", False),
                                                   ("industrial_design", False), ("other", False)])
async def test_the_default_limit_of_each_category(licenses, tree, category, limited):
    admin = tree.actor("dept_a", "it_admin")
    first = await make_pool(licenses, admin, product=f"{category} A", category=category)
    second = await make_pool(licenses, admin, product=f"{category} B", category=category)
    device = (await make_device(licenses, admin, "ONE"))["id"]
    seat = await allocate(licenses, admin, first["id"], device)
    assert seat.status_code == 201, seat.text
    other = await allocate(licenses, admin, second["id"], device)
    if limited:
        refused_for_category(other, category)
    else:
        assert other.status_code == 201, other.text
    # The same assignee again on the same pool is answered first: its seat, 200.
    again = await allocate(licenses, admin, first["id"], device)
    assert (again.status_code, again.json()["id"]) == (200, seat.json()["id"])
    pool = (await licenses.client.get(f"{PREFIX}/pools/{second['id']}", headers=admin.headers)).json()
    assert pool["allocated"] == (0 if limited else 1)


async def test_a_computer_takes_one_seat_of_each_limited_category_and_users_are_not_computers(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office")
    antivirus = await make_pool(licenses, admin, product="火绒终端", category="antivirus")
    os = await make_pool(licenses, admin, product="统信 UOS", category="os")
    device = (await make_device(licenses, admin, "PC-1"))["id"]
    for pool in (wps, antivirus, os):
        assert (await allocate(licenses, admin, pool["id"], device)).status_code == 201
    refused_for_category(await allocate(licenses, admin, yozo["id"], device), "office")
    user = await make_user(licenses, tree["dept_a"])
    for pool in (wps, yozo):
        assert (await allocate(licenses, admin, pool["id"], user, assignee_type="user")).status_code == 201
    async with licenses.db.session() as session:
        rows = (await session.execute(sa.select(Allocation.assignee_type, Allocation.category, Allocation.slot)
                                      .where(Allocation.status == "active"))).all()
    assert sorted(rows, key=str) == sorted([("device", "office", 1), ("device", "antivirus", 1), ("device", "os", 1),
                                            ("user", "office", None), ("user", "office", None)], key=str)


async def test_bulk_answers_the_refusal_per_item(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office", quantity=2)
    holder, fresh, also_fresh = await make_devices(licenses, admin, 3, "B")
    assert (await allocate(licenses, admin, wps["id"], holder)).status_code == 201
    body = await bulk(licenses, admin, yozo["id"], [holder, fresh, holder, also_fresh])
    assert [(i["assignee_id"], i["status"], i["problem"]) for i in body["items"]] == [
        (holder, 409, "category-already-licensed"), (fresh, 201, None), (holder, 409, "category-already-licensed"),
        (also_fresh, 201, None)]
    assert (body["allocated"], body["existing"], body["refused"]) == (2, 0, 2)
    # A bulk on the pool each device already holds a seat of answers 200, not the refusal.
    again = await bulk(licenses, admin, yozo["id"], [fresh, also_fresh])
    assert [i["status"] for i in again["items"]] == [200, 200]
    # The bulk refused holder before counting: the pool's last seats went to the others.
    assert (await licenses.client.get(f"{PREFIX}/pools/{yozo['id']}", headers=admin.headers)).json()["allocated"] == 2


async def test_one_batch_refuses_holders_and_gives_the_others_their_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office")
    devices = await make_devices(licenses, admin, 8, "G")
    holders, others = devices[:4], devices[4:]
    for device in holders:
        assert (await allocate(licenses, admin, wps["id"], device)).status_code == 201
    answers = await asyncio.gather(*(allocate(licenses, admin, yozo["id"], d) for d in devices))
    for device, answer in zip(devices, answers, strict=True):
        if device in holders:
            refused_for_category(answer, "office")
        else:
            assert answer.status_code == 201 and answer.json()["assignee_id"] == device, answer.text
    assert len(others) == 4


async def test_reclaim_frees_the_slot_for_another_pool(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office")
    device = (await make_device(licenses, admin, "R-1"))["id"]
    seat = (await allocate(licenses, admin, wps["id"], device)).json()
    refused_for_category(await allocate(licenses, admin, yozo["id"], device), "office")
    resp = await licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                                      json={"reason": "换用永中"})
    assert resp.status_code == 200 and resp.json()["status"] == "reclaimed"
    moved = await allocate(licenses, admin, yozo["id"], device)
    assert moved.status_code == 201, moved.text
    # Now the first pool's seat is the second one.
    refused_for_category(await allocate(licenses, admin, wps["id"], device), "office")
    # A retired computer gives its seats back, slots included.
    assert (await licenses.client.post(f"{PREFIX}/devices/{device}/retire", headers=admin.headers)).status_code == 200
    async with licenses.db.session() as session:
        active = (await session.execute(sa.select(sa.func.count()).select_from(Allocation).where(
            Allocation.device_id == uuid.UUID(device), Allocation.status == "active"))).scalar()
    assert active == 0


async def test_the_database_refuses_a_second_live_seat_in_the_same_slot(licenses, tree):
    """The guarantee is the unique index, not the service's reading: a row written past the service
    (two writers that both read an empty slot) is refused by the database itself."""
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office")
    device = (await make_device(licenses, admin, "DB-1"))["id"]
    assert (await allocate(licenses, admin, wps["id"], device)).status_code == 201
    now = utcnow()
    async with licenses.db.session() as session:
        with pytest.raises(sa.exc.IntegrityError):
            await session.execute(sa.insert(Allocation).values(
                id=new_id(), pool_id=uuid.UUID(yozo["id"]), org_id=tree["dept_a"].id, assignee_type="device",
                assignee_id=device, device_id=uuid.UUID(device), category="office", slot=1, status="active",
                allocated_at=now, created_at=now, updated_at=now))


async def seat_without_the_rule(svc, pool: dict, device: str, slot: int) -> None:
    """Writes an active seat as it was before the rule (the migration numbers those slots 1, 2, …)."""
    now = utcnow()
    allocation_id = new_id()
    async with svc.db.session() as session:
        await session.execute(sa.insert(Allocation).values(
            id=allocation_id, pool_id=uuid.UUID(pool["id"]), org_id=uuid.UUID(pool["org_id"]),
            assignee_type="device", assignee_id=device, device_id=uuid.UUID(device), category=pool["category"],
            slot=slot, status="active", allocated_at=now, created_at=now, updated_at=now))
        await session.execute(sa.insert(AllocationEntry).values(
            id=new_id(), allocation_id=allocation_id, pool_id=uuid.UUID(pool["id"]), category=pool["category"],
            device_id=uuid.UUID(device), kind="allocated", actor="migration", at=now))
        await session.execute(sa.update(Pool).where(Pool.id == uuid.UUID(pool["id"]))
                              .values(allocated=Pool.allocated + 1))
        await session.commit()


async def test_compliance_lists_the_computers_over_their_limit(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    wps = await make_pool(licenses, admin, product="WPS Office 2019")
    yozo = await make_pool(licenses, admin, product="永中 Office")
    business = [await make_pool(licenses, admin, product=f"业务系统 {n}", category="business") for n in (1, 2)]
    twice = await make_device(licenses, admin, "OVER-1", kind="laptop")
    once = await make_device(licenses, admin, "OK-1")
    assert (await allocate(licenses, admin, wps["id"], twice["id"])).status_code == 201
    assert (await allocate(licenses, admin, wps["id"], once["id"])).status_code == 201
    await seat_without_the_rule(licenses, yozo, twice["id"], slot=2)
    for pool in business:  # no limit: two business seats on one computer are not listed
        assert (await allocate(licenses, admin, pool["id"], once["id"])).status_code == 201

    resp = await licenses.client.get(f"{PREFIX}/compliance", params={"org_id": str(tree["dept_a"].id)},
                                     headers=admin.headers)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["office"]["devices_over_limit"] == [{
        "device_id": twice["id"], "org_id": str(tree["dept_a"].id), "asset_tag": "OVER-1",
        "hostname": "host-OVER-1", "seats": 2, "seats_per_device": 1, "software": ["WPS Office 2019", "永中 Office"]}]
    assert report["office"]["genuine"] == 2
    for category in ("os", "antivirus", "business"):
        assert report[category]["devices_over_limit"] == []
    rows = (await licenses.client.get(f"{PREFIX}/compliance.csv", params={"org_id": str(tree["dept_a"].id)},
                                      headers=admin.headers)).content.decode("utf-8-sig")
    assert "超出每台限额设备：OVER-1（2套）" in rows
    # Reclaiming one of the two brings the computer within its limit.
    seat = next(a for a in (await licenses.client.get(f"{PREFIX}/allocations", params={"pool_id": yozo["id"]},
                                                      headers=admin.headers)).json()["items"])
    await licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                               json={"reason": "一台一套"})
    after = (await licenses.client.get(f"{PREFIX}/compliance", params={"org_id": str(tree["dept_a"].id)},
                                       headers=admin.headers)).json()
    assert after["office"]["devices_over_limit"] == []
    statuses = Counter(a["status"] for a in (await licenses.client.get(
        f"{PREFIX}/allocations", params={"assignee_id": twice["id"]}, headers=admin.headers)).json()["items"])
    assert statuses == {"active": 1, "reclaimed": 1}


async def test_a_subtree_policy_allowing_two_office_seats(licenses, tree):
    """The limit is the device's org's effective policy (budget's, copied here): school_a1's own
    document allows two office seats; dept_a above it keeps the default of one."""
    admin = tree.actor("dept_a", "it_admin")
    await set_policy(licenses, tree["school_a1"], {"seats_per_device": {"office": 2}})
    office = [await make_pool(licenses, admin, product=f"Office {n}") for n in range(3)]
    antivirus = [await make_pool(licenses, admin, product=f"杀毒 {n}", category="antivirus") for n in range(2)]
    school = (await make_device(licenses, admin, "S-1", org=tree["school_a1"]))["id"]
    dept = (await make_device(licenses, admin, "D-1"))["id"]

    first = await allocate(licenses, admin, office[0]["id"], school)
    second = await allocate(licenses, admin, office[1]["id"], school)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    refused_for_category(await allocate(licenses, admin, office[2]["id"], school), "office", limit=2)
    # Only office is raised: antivirus keeps the default, and so does the org above.
    assert (await allocate(licenses, admin, antivirus[0]["id"], school)).status_code == 201
    refused_for_category(await allocate(licenses, admin, antivirus[1]["id"], school), "antivirus")
    assert (await allocate(licenses, admin, office[0]["id"], dept)).status_code == 201
    refused_for_category(await allocate(licenses, admin, office[1]["id"], dept), "office")
    # The same pool again is still its seat, 200; and a bulk answers per item with the limit of each.
    assert (await allocate(licenses, admin, office[1]["id"], school)).json()["id"] == second.json()["id"]
    body = await bulk(licenses, admin, office[2]["id"], [school, dept])
    assert [(i["status"], i["problem"]) for i in body["items"]] == [(409, "category-already-licensed")] * 2

    # Slot 1 given back: the third pool takes it.
    await licenses.client.post(f"{PREFIX}/allocations/{first.json()['id']}/reclaim", headers=admin.headers,
                               json={"reason": "换用"})
    third = await allocate(licenses, admin, office[2]["id"], school)
    assert third.status_code == 201, third.text
    async with licenses.db.session() as session:
        slots = dict((await session.execute(sa.select(Allocation.pool_id, Allocation.slot).where(
            Allocation.device_id == uuid.UUID(school), Allocation.category == "office",
            Allocation.status == "active"))).all())
    assert slots == {uuid.UUID(office[1]["id"]): 2, uuid.UUID(office[2]["id"]): 1}

    # Two office seats are within school_a1's limit; once its policy is back to one, they are over it.
    async def office_over_limit():
        resp = await licenses.client.get(f"{PREFIX}/compliance", params={"org_id": str(tree["dept_a"].id)},
                                         headers=admin.headers)
        listed = resp.json()["office"]["devices_over_limit"]
        return [(d["asset_tag"], d["seats"], d["seats_per_device"]) for d in listed]

    assert await office_over_limit() == []
    await set_policy(licenses, tree["school_a1"], {}, revision=2)
    assert await office_over_limit() == [("S-1", 2, 1)]
    refused_for_category(await allocate(licenses, admin, office[0]["id"], school), "office")
