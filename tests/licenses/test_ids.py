"""One device, one seat, whatever spelling its id is written in (SPEC Guarantees: an id is a UUID
in any of its spellings or refused with 422; one object never gets two rows, seats or keys because
its id was written two ways)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kernel.bounds import RUNNING_TOTAL_MAX
from services.licenses.allocations.models import Allocation
from services.licenses.pools.models import Pool
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


def spellings(device_id: str) -> list[str]:
    hex_ = uuid.UUID(device_id).hex
    return [device_id.upper(), "{" + device_id + "}", "urn:uuid:" + device_id, hex_, "{" + hex_.upper() + "}",
            "URN:UUID:" + device_id.upper()]


async def test_a_device_written_in_any_spelling_holds_one_seat_of_a_pool(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10)
    device = await make_device(licenses, admin, "SPELL-1")
    first = await allocate(licenses, admin, pool["id"], device["id"])
    assert first.status_code == 201, first.text
    for spelling in spellings(device["id"]):
        again = await allocate(licenses, admin, pool["id"], spelling)
        assert again.status_code == 200, (spelling, again.text)
        assert again.json()["id"] == first.json()["id"] and again.json()["assignee_id"] == device["id"]
    bulk = await licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations:bulk", headers=admin.headers, json={
        "items": [{"assignee_type": "device", "assignee_id": s} for s in spellings(device["id"])]})
    assert bulk.status_code == 200, bulk.text
    assert {(i["status"], i["allocation_id"]) for i in bulk.json()["items"]} == {(200, first.json()["id"])}
    pool_now = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert pool_now["allocated"] == 1
    async with licenses.db.session() as session:
        rows = (await session.execute(sa.select(Allocation.assignee_id).where(
            Allocation.pool_id == uuid.UUID(pool["id"])))).scalars().all()
    assert rows == [device["id"]]
    # A query names the device in any spelling too.
    for spelling in spellings(device["id"]):
        found = await licenses.client.get(f"{PREFIX}/allocations", headers=admin.headers,
                                          params={"assignee_id": spelling})
        assert [a["id"] for a in found.json()["items"]] == [first.json()["id"]], spelling


async def test_what_does_not_spell_a_uuid_is_refused_with_422(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10)
    device = await make_device(licenses, admin, "SPELL-2")
    for bad in ("PC-0042", device["id"][:-1], "{" + device["id"], device["id"].replace("-", "", 1), "", " "):
        refused = await allocate(licenses, admin, pool["id"], bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/validation-error") and refused.json()["status"] == 422
        listed = await licenses.client.get(f"{PREFIX}/allocations", headers=admin.headers,
                                           params={"assignee_id": bad})
        assert listed.status_code == 422 or bad.strip() == "", (bad, listed.text)
    assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()["allocated"] == 0


async def test_a_retry_that_spells_the_ids_otherwise_replays_the_first_answer(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10)
    device = await make_device(licenses, admin, "SPELL-3")
    key = {"Idempotency-Key": "spelled-" + device["id"]}
    first = await allocate(licenses, admin, pool["id"], device["id"], **key)
    assert first.status_code == 201, first.text
    retry = await allocate(licenses, admin, pool["id"].upper(), "urn:uuid:" + device["id"].upper(), **key)
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("idempotent-replayed") == "true" and retry.json() == first.json()


async def test_the_longest_vendor_and_product_name_make_a_pool_and_longer_ones_are_422(licenses, tree):
    """Bounds from one source: the entitlement's limits are its table's, and the pool's product key
    holds what they allow (a 200-character vendor and product name were a 500 on PostgreSQL)."""
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3, product="品" * 200, vendor="商" * 200)
    assert (pool["product_name"], pool["vendor"], pool["total"]) == ("品" * 200, "商" * 200, 3)
    again = await make_pool(licenses, admin, quantity=2, product="品" * 200, vendor="商" * 200)
    assert (again["id"], again["total"]) == (pool["id"], 5)
    for field in ("product_name", "vendor"):
        refused = await licenses.client.post(f"{PREFIX}/entitlements", headers=admin.headers, json={
            "org_id": str(admin.org.id), "product_name": "品", "vendor": "商", "category": "office",
            "metric": "device", "quantity": 1, "source": "manual", field: "长" * 201})
        assert refused.status_code == 422 and refused.json()["type"].endswith("/validation-error"), refused.text
    document = (await licenses.client.get("/openapi.json")).json()["components"]["schemas"]["EntitlementCreate"]
    assert (document["properties"]["vendor"]["maxLength"], document["properties"]["product_name"]["maxLength"]) == (
        200, 200)


async def test_a_pool_total_stops_at_the_running_total_bound_with_422(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1, product="Many seats")
    async with licenses.db.session() as session:
        await session.execute(sa.update(Pool).where(Pool.id == uuid.UUID(pool["id"]))
                              .values(total=RUNNING_TOTAL_MAX - 5))
        await session.commit()
    body = {"org_id": str(admin.org.id), "product_name": "Many seats", "vendor": "金山办公", "category": "office",
            "metric": "device", "source": "manual"}
    refused = await licenses.client.post(f"{PREFIX}/entitlements", headers=admin.headers, json={**body, "quantity": 6})
    assert refused.status_code == 422 and refused.json()["type"].endswith("/running-total-out-of-range"), refused.text
    assert (await licenses.client.post(f"{PREFIX}/entitlements", headers=admin.headers,
                                       json={**body, "quantity": 5})).status_code == 201
    now = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert now["total"] == RUNNING_TOTAL_MAX and type(now["total"]) is int
