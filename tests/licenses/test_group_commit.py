"""Group commit of allocations (allocations/batching.py): concurrent requests for one pool share a
transaction, yet each gets SPEC's answer, its own allocation and its own event."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import orjson
import sqlalchemy as sa

from kernel.metrics import SEAT_BATCH_SIZE
from kernel.schema import outbox
from services.licenses.allocations.models import Allocation, AllocationEntry
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool


def batches() -> tuple[float, float]:
    """(batches applied, requests in them) so far in this process."""
    samples = {s.name: s.value for s in SEAT_BATCH_SIZE.collect()[0].samples}
    return samples["zhengban_seat_batch_size_count"], samples["zhengban_seat_batch_size_sum"]


async def seat_events(svc, pool_id: str) -> list[dict]:
    async with svc.db.session() as session:
        payloads = (await session.execute(sa.select(outbox.c.payload)
                                          .where(outbox.c.subject == "licenses.seat.allocated"))).scalars()
    return [e["data"] for e in map(orjson.loads, payloads) if e["data"]["pool_id"] == pool_id]


async def test_k_seats_give_exactly_k_winners_each_with_its_own_allocation_and_event(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    devices = [(await make_device(licenses, admin, f"GC-{n:03d}"))["id"] for n in range(40)]
    count_before, sum_before = batches()
    for round_ in range(3):
        # The same devices take a seat of each round's pool: a category without a per-device limit.
        pool = await make_pool(licenses, admin, quantity=7, product=f"Group commit {round_}", category="business")
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], d) for d in devices))
        assert Counter(a.status_code for a in answers) == {201: 7, 409: 33}
        assert all(a.json()["type"].endswith("/no-seats-available") for a in answers if a.status_code == 409)
        won = {a.json()["assignee_id"]: a.json()["id"] for a in answers if a.status_code == 201}
        assert len(set(won.values())) == 7
        after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
        assert (after["allocated"], after["available"]) == (7, 0)
        async with licenses.db.session() as session:
            active = dict((await session.execute(sa.select(Allocation.assignee_id, Allocation.id).where(
                Allocation.pool_id == uuid.UUID(pool["id"]), Allocation.status == "active"))).all())
            ledger = (await session.execute(sa.select(AllocationEntry.allocation_id).where(
                AllocationEntry.pool_id == uuid.UUID(pool["id"])))).scalars().all()
        assert {k: str(v) for k, v in active.items()} == won
        assert sorted(map(str, ledger)) == sorted(won.values())
        events = await seat_events(licenses, pool["id"])
        assert sorted((e["assignee_id"], e["allocation_id"]) for e in events) == sorted(won.items())
    count_after, sum_after = batches()
    assert sum_after - sum_before == 120  # every request went through the batches …
    assert count_after - count_before < 120  # … and some of them shared one


async def test_a_batch_answers_repeats_holders_and_strangers_as_if_each_came_alone(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    stranger = tree.actor("dept_b", "it_admin")
    a, b, c, d, e = [(await make_device(licenses, admin, f"MIX-{n}"))["id"] for n in range(5)]
    pool = await make_pool(licenses, admin, quantity=3, product="Mixed batch")
    first = await allocate(licenses, admin, pool["id"], a)
    assert first.status_code == 201
    answers = await asyncio.gather(
        allocate(licenses, admin, pool["id"], a), allocate(licenses, admin, pool["id"], b),
        allocate(licenses, admin, pool["id"], b), allocate(licenses, stranger, pool["id"], e),
        allocate(licenses, admin, pool["id"], a), allocate(licenses, admin, pool["id"], b),
        allocate(licenses, admin, pool["id"], c), allocate(licenses, admin, pool["id"], d),
        allocate(licenses, admin, pool["id"], e))
    by = [(r.status_code, r.json()) for r in answers]
    assert [s for s, _ in by[:1] + by[4:5]] == [200, 200]
    assert {body["id"] for _, body in by[:1] + by[4:5]} == {first.json()["id"]}
    assert sorted(s for s, _ in (by[1], by[2], by[5])) == [200, 200, 201]
    assert len({body["id"] for _, body in (by[1], by[2], by[5])}) == 1
    assert by[3][0] == 404 and by[3][1]["type"].endswith("/not-found")
    # One seat was left after a and b: exactly one of c, d, e got it.
    assert sorted(s for s, _ in by[6:]) == [201, 409, 409]
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert after["allocated"] == 3
    assert len(await seat_events(licenses, pool["id"])) == 3


async def test_a_bulk_racing_single_requests_for_the_same_assignees_answers_with_the_seat_held(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    devices = [(await make_device(licenses, admin, f"RACE-{n:02d}"))["id"] for n in range(12)]
    for round_ in range(3):
        pool = await make_pool(licenses, admin, quantity=100, product=f"Bulk race {round_}", category="business")
        items = [{"assignee_type": "device", "assignee_id": d} for d in devices]
        bulk = licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations:bulk", headers=admin.headers,
                                    json={"items": items})
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], d) for d in devices[::-1]), bulk)
        singles, bulk_answer = answers[:-1], answers[-1]
        assert all(a.status_code in (200, 201) for a in singles), [a.text for a in singles if a.status_code >= 300]
        assert bulk_answer.status_code == 200, bulk_answer.text
        async with licenses.db.session() as session:
            active = dict((await session.execute(sa.select(Allocation.assignee_id, Allocation.id).where(
                Allocation.pool_id == uuid.UUID(pool["id"]), Allocation.status == "active"))).all())
        assert len(active) == 12
        for single in singles:
            assert single.json()["id"] == str(active[single.json()["assignee_id"]])
        for item in bulk_answer.json()["items"]:
            assert item["status"] in (200, 201) and item["allocation_id"] == str(active[item["assignee_id"]])
        created = sum(a.status_code == 201 for a in singles) + bulk_answer.json()["allocated"]
        assert created == 12
        after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
        assert after["allocated"] == 12
