"""A pool's settings are edited with If-Match; its seat counts, which every allocation moves, do not
make a reader's version stale."""

from __future__ import annotations

from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


async def test_a_pool_put_needs_if_match_and_allocations_do_not_make_it_stale(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    path = f"{PREFIX}/pools/{pool['id']}"
    assert (await licenses.client.put(path, headers=admin.headers, json={"low_threshold": 1})).status_code == 428
    read = await licenses.client.get(path, headers=admin.headers)
    device = await make_device(licenses, admin, "E-1")
    assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    body = read.json() | {"low_threshold": 1}  # the GET's body back, seat counts and all
    saved = await licenses.client.put(path, headers={**admin.headers, "If-Match": read.headers["etag"]}, json=body)
    assert saved.status_code == 200 and saved.json()["low_threshold"] == 1 and saved.json()["allocated"] == 1
    stale = await licenses.client.put(path, headers={**admin.headers, "If-Match": read.headers["etag"]},
                                      json={"low_threshold": 2})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert (await licenses.client.get(path, headers=admin.headers)).json()["low_threshold"] == 1
