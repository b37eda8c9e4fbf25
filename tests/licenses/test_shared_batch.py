"""Allocations of different pools share one batch (allocations/batching.py): one transaction takes
every pool's counter in pool-id order. Each request still gets the answer it would get alone: one
pool's refusals (no seat left, a bad device, a pool not the caller's) never fail another pool's
seats, no pool gives out more seats than it has, and batches sharing pools and devices never
deadlock (nothing answers 5xx)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, defaultdict

import sqlalchemy as sa

from services.licenses.allocations.models import Allocation
from tests.licenses.conftest import PREFIX, allocate, make_device, make_devices, make_pool
from tests.licenses.test_group_commit import batches, seat_events
from tests.licenses.test_races import pool_agrees_with_ledger
from tests.support.races import RACERS, ROUNDS


def slug(answer) -> str | None:
    return answer.json()["type"].rsplit("/", 1)[1] if answer.status_code >= 400 else None


async def batched_together(licenses, pool_ids: list[str]) -> bool:
    """Whether seats of two of these pools were taken in one transaction (one batch's rows share
    their allocated_at)."""
    async with licenses.db.session() as session:
        rows = (await session.execute(sa.select(Allocation.allocated_at, Allocation.pool_id).where(
            Allocation.pool_id.in_([uuid.UUID(p) for p in pool_ids])))).all()
    pools_at = defaultdict(set)
    for at, pool_id in rows:
        pools_at[at].add(pool_id)
    return any(len(pools) > 1 for pools in pools_at.values())


async def test_one_pools_refusals_never_fail_another_pools_seats_in_the_same_batch(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    other = tree.actor("dept_b", "it_admin")
    shared = 0
    for round_ in range(ROUNDS):
        scarce = await make_pool(licenses, admin, quantity=1, product=f"Scarce {round_}", category="business")
        roomy = await make_pool(licenses, admin, quantity=20, product=f"Roomy {round_}", category="business")
        foreign = await make_pool(licenses, other, quantity=5, product=f"Foreign {round_}", category="business")
        good = await make_devices(licenses, admin, 10, f"SB-{round_}")
        retired = await make_device(licenses, admin, f"SB-RETIRED-{round_}")
        stranger = await make_device(licenses, other, f"SB-OTHER-{round_}")  # not in the caller's subtree
        done = await licenses.client.post(f"{PREFIX}/devices/{retired['id']}/retire", headers=admin.headers)
        assert done.status_code == 200, done.text
        count_before, sum_before = batches()
        asks = ([(scarce, d) for d in good[:4]] + [(roomy, d) for d in good[4:]]
                + [(roomy, retired["id"]), (roomy, str(uuid.uuid4())), (roomy, stranger["id"]), (foreign, good[0])])
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], d) for pool, d in asks))
        count_after, sum_after = batches()
        assert sum_after - sum_before == len(asks) and count_after - count_before < len(asks)
        by_pool = defaultdict(list)
        for (pool, _), answer in zip(asks, answers, strict=True):
            by_pool[pool["id"]].append((answer.status_code, slug(answer)))
        assert sorted(by_pool[scarce["id"]], key=str) == sorted(
            [(201, None)] + [(409, "no-seats-available")] * 3, key=str)
        assert by_pool[roomy["id"]] == [(201, None)] * 6 + [
            (409, "device-retired"), (422, "unknown-assignee"), (422, "unknown-assignee")]
        assert by_pool[foreign["id"]] == [(404, "not-found")]
        for (pool, device), answer in zip(asks, answers, strict=True):
            if answer.status_code == 201:
                assert answer.json()["pool_id"] == pool["id"] and answer.json()["assignee_id"] == device
        assert (await pool_agrees_with_ledger(licenses, admin, scarce["id"]))["allocated"] == 1
        assert (await pool_agrees_with_ledger(licenses, admin, roomy["id"]))["allocated"] == 6
        assert (await pool_agrees_with_ledger(licenses, other, foreign["id"]))["allocated"] == 0
        events = await seat_events(licenses, roomy["id"])
        assert sorted(e["assignee_id"] for e in events) == sorted(good[4:])
        assert len(await seat_events(licenses, scarce["id"])) == 1
        shared += await batched_together(licenses, [scarce["id"], roomy["id"]])
    assert shared  # the pools' seats were taken in shared transactions, not one pool at a time


async def test_many_pools_at_once_give_out_exactly_their_seats(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    devices = await make_devices(licenses, admin, RACERS, "SBX")
    for round_ in range(ROUNDS):
        pools = [await make_pool(licenses, admin, quantity=n + 1, product=f"Exact {round_}-{n}", category="business")
                 for n in range(5)]
        asks = [(pool, device) for pool in pools for device in devices]
        random.shuffle(asks)
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], d) for pool, d in asks))
        assert not [a.text for a in answers if a.status_code >= 500]
        per_pool = defaultdict(Counter)
        for (pool, _), answer in zip(asks, answers, strict=True):
            per_pool[pool["id"]][answer.status_code, slug(answer)] += 1
        for pool in pools:
            seats = pool["total"]
            assert per_pool[pool["id"]] == {(201, None): seats, (409, "no-seats-available"): RACERS - seats}
            after = await pool_agrees_with_ledger(licenses, admin, pool["id"])
            assert (after["allocated"], after["available"]) == (seats, 0)
            assert len(await seat_events(licenses, pool["id"])) == seats
        assert await batched_together(licenses, [p["id"] for p in pools])


async def test_batches_sharing_pools_and_devices_in_every_order_do_not_deadlock(licenses, tree):
    """Every (pool, device) pair asked twice at once in a random order, over pools of a category
    without a limit and two of `os` (one seat per computer): two batches holding the same pools and
    devices take them in one order (pool ids, then assignees), so none waits for the other forever."""
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        free = [await make_pool(licenses, admin, quantity=100, product=f"Order {round_}-{n}", category="business")
                for n in range(3)]
        limited = [await make_pool(licenses, admin, quantity=100, product=f"OS {round_}-{n}", category="os")
                   for n in range(2)]
        devices = await make_devices(licenses, admin, RACERS, f"SBD-{round_}")
        asks = [(pool, device) for pool in free + limited for device in devices] * 2
        random.shuffle(asks)
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], d) for pool, d in asks))
        assert not [a.text for a in answers if a.status_code >= 500]
        outcomes = defaultdict(Counter)
        for (pool, device), answer in zip(asks, answers, strict=True):
            outcomes[pool["id"], device][answer.status_code, slug(answer)] += 1
        for pool in free:
            for device in devices:  # one seat, answered 201 once and 200 (held) the other time
                assert outcomes[pool["id"], device] == {(201, None): 1, (200, None): 1}
            assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == RACERS
        for device in devices:  # one os seat per computer, of either pool
            both = outcomes[limited[0]["id"], device] + outcomes[limited[1]["id"], device]
            assert both == {(201, None): 1, (200, None): 1, (409, "category-already-licensed"): 2}, both
        assert sum([(await pool_agrees_with_ledger(licenses, admin, p["id"]))["allocated"] for p in limited]) == RACERS
