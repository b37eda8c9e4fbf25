"""Pools, allocations and devices as spreadsheets (登记造册): every row the list has, its filters,
the org's name beside its id."""

from __future__ import annotations

import csv
import io

from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


def rows_of(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    lines = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


async def test_pools_allocations_and_devices_export(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=5)
    devices = [await make_device(licenses, admin, f"A-{n}") for n in range(3)]
    await make_device(licenses, tree.actor("dept_b", "it_admin"), "B-1")  # a sibling's
    for device in devices[:2]:
        assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    client = licenses.client

    pools = rows_of(await client.get(f"{PREFIX}/pools.csv", headers=admin.headers))
    assert [(p["授权池编号"], p["授权总数"], p["已分配"], p["可分配"]) for p in pools] == [(pool["id"], "5", "2", "3")]
    assert pools[0]["单位名称"] == tree.orgs["dept_a"].name
    seats = rows_of(await client.get(f"{PREFIX}/allocations.csv?pool_id={pool['id']}", headers=admin.headers))
    assert sorted(s["分配对象编号"] for s in seats) == sorted(d["id"] for d in devices[:2])
    assert {s["状态"] for s in seats} == {"active"}
    listed = rows_of(await client.get(f"{PREFIX}/devices.csv", headers=admin.headers))
    assert sorted(d["资产编号"] for d in listed) == ["A-0", "A-1", "A-2"]
    english = rows_of(await client.get(f"{PREFIX}/devices.csv", headers={**admin.headers, "Accept-Language": "en"}))
    assert {"Asset tag", "Org name", "Last seen"} <= set(english[0])
    assert (await client.get(f"{PREFIX}/devices.xlsx", headers=admin.headers)).content[:2] == b"PK"
