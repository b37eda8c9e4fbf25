"""Commands that take the same locks in opposite orders (SPEC Guarantees): seat transfers A→B and
B→A at once, reclaim runs over shared pools, retirement against expiry. Each finishes or answers
409; the server orders its locks (by table, then id) or retries, and no deadlock reaches a caller
as a 5xx. The pools' counters and ledgers agree afterwards."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from kernel.ids import utcnow
from services.licenses.expiry.service import expire_due
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool
from tests.licenses.test_races import pool_agrees_with_ledger
from tests.support.races import PROBLEM, RACERS, ROUNDS


def no_server_errors(answers, *, allowed=()) -> Counter:
    statuses = Counter(a.status_code for a in answers)
    assert not [s for s in statuses if s >= 500], (statuses, [a.text for a in answers if a.status_code >= 500])
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.headers["content-type"].startswith(PROBLEM)
        slug = refused.json()["type"].rsplit("/", 1)[1]
        assert slug in allowed, refused.text
        if slug == "contended":
            assert refused.headers["retry-after"] == "1"
    return statuses


async def test_seat_transfers_in_opposite_directions_both_finish(licenses, tree):
    admin = tree.actor("province", "it_admin")
    seats = RACERS * ROUNDS
    a = await make_pool(licenses, admin, org=tree["dept_a"], quantity=seats)
    b = await make_pool(licenses, admin, org=tree["dept_b"], quantity=seats)
    for _ in range(ROUNDS):
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/transfers", headers=admin.headers, json={
                "from_pool_id": source["id"], "to_org_id": str(tree[target].id), "seats": 1, "reason": "调配"})
            for _ in range(RACERS) for source, target in ((a, "dept_b"), (b, "dept_a"))))
        statuses = no_server_errors(answers, allowed=("contended",))
        assert statuses[201] >= len(answers) - statuses[409], statuses
    after = [await pool_agrees_with_ledger(licenses, admin, p["id"]) for p in (a, b)]
    # Seats moved, none made or lost.
    assert sum(p["total"] for p in after) == 2 * seats


async def test_reclaim_runs_over_devices_with_seats_of_several_pools_all_finish(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pools = [await make_pool(licenses, admin, quantity=10 * ROUNDS, product=f"Shared {n}", category="other")
             for n in range(3)]
    for round_ in range(ROUNDS):
        devices = [await make_device(licenses, admin, f"SHARED-{round_}-{i}") for i in range(10)]
        # Each device holds a seat of every pool, given in a different order per device, so that
        # the runs meet the pools in different orders.
        for i, device in enumerate(devices):
            for pool in pools[i % 3:] + pools[:i % 3]:
                assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
        answers = await asyncio.gather(*(licenses.client.post(f"{PREFIX}/reclaim-runs", headers=admin.headers, json={
            "org_id": str(admin.org.id), "inactive_days": 30, "max_seats": 5, "dry_run": False})
            for _ in range(RACERS)))
        no_server_errors(answers, allowed=("contended",))
        taken = Counter(s["allocation_id"] for a in answers if a.status_code == 201 for s in a.json()["seats"])
        assert set(taken.values()) <= {1}
        for pool in pools:
            await pool_agrees_with_ledger(licenses, admin, pool["id"])


async def test_retiring_devices_while_their_seats_expire(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        ends = (utcnow() + timedelta(hours=1)).isoformat()
        pools = [await make_pool(licenses, admin, quantity=RACERS, product=f"Ending {round_}-{n}", category="other",
                                 valid_to=ends) for n in range(2)]
        devices = [await make_device(licenses, admin, f"END-{round_}-{i}") for i in range(RACERS)]
        for device in devices:
            for pool in pools:
                assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
        results = await asyncio.gather(
            expire_due(licenses.db, utcnow() + timedelta(hours=2)),
            *(licenses.client.post(f"{PREFIX}/devices/{d['id']}/retire", headers=admin.headers) for d in devices))
        assert results[0] == 2
        no_server_errors(results[1:], allowed=("contended",))
        assert all(r.status_code == 200 for r in results[1:]), [r.text for r in results[1:]]
        for pool in pools:
            now = await pool_agrees_with_ledger(licenses, admin, pool["id"])
            assert (now["total"], now["allocated"]) == (0, 0)
