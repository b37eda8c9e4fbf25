"""Allocating seats: one per assignee, never past the total, answers that say what happened."""

from __future__ import annotations

import time

from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


async def test_a_pool_is_one_row_per_product_and_org_with_counters(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    first = await make_pool(licenses, admin, quantity=10)
    second = await make_pool(licenses, admin, quantity=5, reference="合同-2026-002")
    assert second["id"] == first["id"]
    assert (second["total"], second["allocated"], second["available"]) == (15, 0, 15)
    assert second["product_name"] == "WPS Office 2019" and second["category"] == "office"
    pools = (await licenses.client.get(f"{PREFIX}/pools", params={"org_id": str(tree["dept_a"].id)},
                                       headers=admin.headers)).json()
    assert [p["id"] for p in pools["items"]] == [first["id"]] and pools["next_cursor"] is None


async def test_a_million_seat_entitlement_is_one_row_made_at_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    started = time.perf_counter()
    pool = await make_pool(licenses, admin, quantity=1_000_000)
    elapsed = time.perf_counter() - started
    assert pool["total"] == 1_000_000 and pool["available"] == 1_000_000
    # Not a timing assertion on the service's speed: a row per seat would take minutes, not this.
    assert elapsed < 30


async def test_allocate_then_same_assignee_again_then_no_seat_left(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1)
    device = await make_device(licenses, admin, "A-001")
    first = await allocate(licenses, admin, pool["id"], device["id"])
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "active" and body["assignee_id"] == device["id"] and body["pool_id"] == pool["id"]
    again = await allocate(licenses, admin, pool["id"], device["id"])
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    refused = await allocate(licenses, admin, pool["id"], "another-device")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://zhengban.dev/problems/no-seats-available"
    assert refused.json()["title"] == "No seats available in this pool"
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert (after["allocated"], after["available"]) == (1, 0)


async def test_an_idempotency_key_makes_one_allocation(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=5)
    first = await allocate(licenses, admin, pool["id"], "user-1", "user", **{"Idempotency-Key": "k-1"})
    replay = await allocate(licenses, admin, pool["id"], "user-1", "user", **{"Idempotency-Key": "k-1"})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers.get("idempotent-replayed") == "true"
    other = await allocate(licenses, admin, pool["id"], "user-2", "user", **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()["allocated"] == 1


async def test_bulk_allocation_answers_per_item(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    assert (await allocate(licenses, admin, pool["id"], "d-0")).status_code == 201
    items = [{"assignee_type": "device", "assignee_id": f"d-{i}"} for i in range(5)]
    resp = await licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations:bulk", headers=admin.headers,
                                      json={"items": items})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [i["status"] for i in body["items"]] == [200, 201, 201, 409, 409]
    assert [i["problem"] for i in body["items"]] == [None, None, None, "no-seats-available", "no-seats-available"]
    assert (body["allocated"], body["existing"], body["refused"]) == (2, 1, 2)
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert after["allocated"] == 3
    listed = (await licenses.client.get(f"{PREFIX}/allocations", params={"pool_id": pool["id"]},
                                        headers=admin.headers)).json()
    assert sorted(a["assignee_id"] for a in listed["items"]) == ["d-0", "d-1", "d-2"]


async def test_reclaim_gives_the_seat_back_once_and_keeps_the_history(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1)
    allocation = (await allocate(licenses, admin, pool["id"], "d-1")).json()
    resp = await licenses.client.post(f"{PREFIX}/allocations/{allocation['id']}/reclaim", headers=admin.headers,
                                      json={"reason": "员工离职"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "reclaimed" and resp.json()["reason"] == "员工离职"
    again = await licenses.client.post(f"{PREFIX}/allocations/{allocation['id']}/reclaim", headers=admin.headers,
                                       json={"reason": "again"})
    assert again.status_code == 409 and again.json()["type"].endswith("/already-reclaimed")
    assert (await allocate(licenses, admin, pool["id"], "d-2")).status_code == 201
    history = (await licenses.client.get(f"{PREFIX}/allocations/{allocation['id']}/history",
                                         headers=admin.headers)).json()["items"]
    assert [h["action"] for h in history] == ["allocated", "reclaimed"]
    assert history[1]["data"]["reason"] == "员工离职" and history[0]["actor"] == f"user:{admin.subject}"
    pool_history = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}/history",
                                              headers=admin.headers)).json()["items"]
    assert [h["action"] for h in pool_history] == ["entitlement_added"]


async def test_a_low_threshold_and_bad_input(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    resp = await licenses.client.put(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers, json={"low_threshold": 2})
    assert resp.status_code == 200 and resp.json()["low_threshold"] == 2
    bad = await licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations", headers=admin.headers,
                                     json={"assignee_type": "printer", "assignee_id": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    past = await licenses.client.post(f"{PREFIX}/entitlements", headers=admin.headers, json={
        "org_id": str(tree["dept_a"].id), "product_name": "旧杀毒", "vendor": "v", "category": "antivirus",
        "metric": "device", "quantity": 5, "source": "manual", "valid_to": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["type"].endswith("/already-expired")


async def test_pools_and_allocations_page_through_every_item_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    made = [await make_pool(licenses, admin, product=f"产品-{n}", quantity=3) for n in range(3)]
    for n in range(3):
        assert (await allocate(licenses, admin, made[0]["id"], f"PC-{n}")).status_code == 201

    async def every(path: str, **params) -> list[str]:
        seen, cursor = [], None
        while True:
            page = (await licenses.client.get(f"{PREFIX}{path}", headers=admin.headers,
                                              params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
                                              )).json()
            seen += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                return seen

    # Pools are listed with a computed column (next expiry), allocations as plain rows.
    assert await every("/pools", org_id=str(tree["dept_a"].id)) == sorted(p["id"] for p in made)
    allocations = await every("/allocations", pool_id=made[0]["id"])
    assert len(allocations) == len(set(allocations)) == 3
