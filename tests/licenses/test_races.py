"""Racing commands on one seat or device take effect once (SPEC Guarantees): one succeeds, the
others answer 409 problem+json with a stable type, nothing answers 5xx, and the pool's counters and
the allocation ledger still agree."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import sqlalchemy as sa

from services.licenses.allocations.models import Allocation, AllocationEntry
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool, set_policy
from tests.support.races import RACERS, ROUNDS, one_winner


async def pool_agrees_with_ledger(licenses, admin, pool_id: str) -> dict:
    """The pool's `allocated` is its active allocations and what its ledger says is still out."""
    pool = (await licenses.client.get(f"{PREFIX}/pools/{pool_id}", headers=admin.headers)).json()
    async with licenses.db.session() as session:
        active = (await session.execute(sa.select(sa.func.count()).select_from(Allocation).where(
            Allocation.pool_id == uuid.UUID(pool_id), Allocation.status == "active"))).scalar()
        kinds = dict((await session.execute(sa.select(AllocationEntry.kind, sa.func.count()).where(
            AllocationEntry.pool_id == uuid.UUID(pool_id)).group_by(AllocationEntry.kind))).all())
    assert pool["allocated"] == active == kinds.get("allocated", 0) - kinds.get("reclaimed", 0), (pool, kinds)
    return pool


async def reclaim_entries(licenses, allocation_id: str) -> int:
    async with licenses.db.session() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(AllocationEntry).where(
            AllocationEntry.allocation_id == uuid.UUID(allocation_id), AllocationEntry.kind == "reclaimed"))).scalar()


async def test_two_or_more_reclaims_of_one_seat_give_it_back_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=ROUNDS)
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"RR-{round_}")
        seat = (await allocate(licenses, admin, pool["id"], device["id"])).json()
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                                 json={"reason": f"回收 {i}"}) for i in range(RACERS)))
        winner = one_winner(answers, slug="already-reclaimed").json()
        assert winner["status"] == "reclaimed"
        assert all(a.json()["status_now"] == "reclaimed" for a in answers if a.status_code == 409)
        assert await reclaim_entries(licenses, seat["id"]) == 1
        # Every earlier round's seat was reclaimed too: nothing is out.
        assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == 0


async def test_racing_retirements_of_one_device_reclaim_its_seats_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=ROUNDS)
    antivirus = await make_pool(licenses, admin, quantity=ROUNDS, product="火绒终端", category="antivirus")
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"RT-{round_}")
        seats = [(await allocate(licenses, admin, pool["id"], device["id"])).json() for pool in (office, antivirus)]
        answers = await asyncio.gather(*(licenses.client.post(f"{PREFIX}/devices/{device['id']}/retire",
                                                              headers=admin.headers) for _ in range(RACERS)))
        winner = one_winner(answers, slug="already-retired").json()
        assert winner["status"] == "retired" and winner["seats_reclaimed"] == 2
        for seat in seats:
            assert await reclaim_entries(licenses, seat["id"]) == 1
        for pool in (office, antivirus):
            assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == 0
        history = (await licenses.client.get(f"{PREFIX}/devices/{device['id']}/history",
                                             headers=admin.headers)).json()["items"]
        assert [h["action"] for h in history] == ["registered", "retired"]


async def test_retire_racing_reclaims_and_inventory_reports_of_its_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=ROUNDS)
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"RX-{round_}")
        seat = (await allocate(licenses, admin, pool["id"], device["id"])).json()
        commands = ["retire", "reclaim", "inventory"] * 3
        random.shuffle(commands)
        paths = {"retire": f"/devices/{device['id']}/retire", "reclaim": f"/allocations/{seat['id']}/reclaim",
                 "inventory": f"/devices/{device['id']}/inventory"}
        bodies = {"retire": None, "reclaim": {"reason": "回收"},
                  "inventory": {"software": [{"name": "WPS", "vendor": "金山", "version": "12", "category": "office"}]}}
        answers = await asyncio.gather(*(licenses.client.post(f"{PREFIX}{paths[c]}", headers=admin.headers,
                                                              json=bodies[c]) for c in commands))
        assert not [a for a in answers if a.status_code >= 500]
        by = {c: [a for c2, a in zip(commands, answers, strict=True) if c2 == c] for c in set(commands)}
        one_winner(by["retire"], slug="already-retired")
        reclaims = [a for a in by["reclaim"] if a.status_code == 200]
        assert len(reclaims) <= 1  # the retirement takes the seat back if no reclaim did first
        assert all(a.json()["type"].endswith("/already-reclaimed") for a in by["reclaim"] if a.status_code != 200)
        assert all(a.status_code in (200, 201) or a.json()["type"].endswith("/device-retired")
                   for a in by["inventory"])
        assert await reclaim_entries(licenses, seat["id"]) == 1
        assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == 0


async def test_racing_reclaim_runs_take_each_seat_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10 * ROUNDS)
    for round_ in range(ROUNDS):
        devices = [await make_device(licenses, admin, f"RUN-{round_}-{i}") for i in range(10)]
        seats = [(await allocate(licenses, admin, pool["id"], d["id"])).json() for d in devices]
        answers = await asyncio.gather(*(licenses.client.post(f"{PREFIX}/reclaim-runs", headers=admin.headers, json={
            "org_id": str(admin.org.id), "inactive_days": 30, "max_seats": 4, "dry_run": False})
            for _ in range(RACERS)))
        assert [a.status_code for a in answers] == [201] * RACERS, [a.text for a in answers]
        taken = Counter(s["allocation_id"] for a in answers for s in a.json()["seats"])
        # Each seat is answered by at most one run, and every seat a run names was reclaimed once.
        assert set(taken.values()) <= {1} and len(taken) == min(10, 4 * RACERS)
        for seat in seats:
            assert await reclaim_entries(licenses, seat["id"]) == (seat["id"] in taken)
        assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == 0


async def office_seats_held(licenses, device_id: str) -> list[uuid.UUID]:
    async with licenses.db.session() as session:
        return (await session.execute(sa.select(Allocation.pool_id).where(
            Allocation.device_id == uuid.UUID(device_id), Allocation.category == "office",
            Allocation.status == "active"))).scalars().all()


async def test_racing_allocations_of_different_office_pools_give_a_computer_one_seat(licenses, tree):
    """98号: one office seat per computer, though each request is for another pool (so each runs in
    its own batch and transaction, and no pool's lock orders them)."""
    admin = tree.actor("dept_a", "it_admin")
    pools = [await make_pool(licenses, admin, quantity=ROUNDS, product=f"Office {n}") for n in range(RACERS)]
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"RC-{round_}")
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], device["id"]) for pool in pools))
        winner = one_winner(answers, slug="category-already-licensed", winners=(201,)).json()
        assert await office_seats_held(licenses, device["id"]) == [uuid.UUID(winner["pool_id"])]
        for pool in pools:
            await pool_agrees_with_ledger(licenses, admin, pool["id"])
    allocated = [(await licenses.client.get(f"{PREFIX}/pools/{p['id']}", headers=admin.headers)).json()["allocated"]
                 for p in pools]
    assert sum(allocated) == ROUNDS


async def test_racing_single_and_bulk_allocations_of_office_pools_give_a_computer_one_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pools = [await make_pool(licenses, admin, quantity=ROUNDS, product=f"Office mix {n}") for n in range(RACERS)]
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"RM-{round_}")
        singles, bulks = pools[:RACERS // 2], pools[RACERS // 2:]
        answers = await asyncio.gather(
            *(allocate(licenses, admin, pool["id"], device["id"]) for pool in singles),
            *(licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations:bulk", headers=admin.headers,
                                   json={"items": [{"assignee_type": "device", "assignee_id": device["id"]}]})
              for pool in bulks))
        assert not [a for a in answers if a.status_code >= 500], [a.text for a in answers]
        outcomes = [(a.status_code, a.json()["type"].rsplit("/", 1)[1] if a.status_code >= 400 else None)
                    for a in answers[:len(singles)]]
        outcomes += [(a.json()["items"][0]["status"], a.json()["items"][0]["problem"]) for a in answers[len(singles):]]
        assert sorted(outcomes, key=str) == sorted([(201, None)] + [(409, "category-already-licensed")] * (RACERS - 1),
                                                   key=str), outcomes
        assert len(await office_seats_held(licenses, device["id"])) == 1
        for pool in pools:
            await pool_agrees_with_ledger(licenses, admin, pool["id"])


async def test_racing_allocations_to_a_computer_allowed_two_office_seats_give_it_two(licenses, tree):
    """A policy allowing two: the racers compete for slots 1 and 2, a loser of a slot tries the
    other one, and exactly two win."""
    admin = tree.actor("dept_a", "it_admin")
    await set_policy(licenses, tree["school_a1"], {"seats_per_device": {"office": 2}})
    pools = [await make_pool(licenses, admin, quantity=ROUNDS, product=f"Office two {n}") for n in range(RACERS)]
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"R2-{round_}", org=tree["school_a1"])
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], device["id"]) for pool in pools))
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 2, 409: RACERS - 2}, [a.text for a in answers if a.status_code not in (201, 409)]
        assert all(a.json()["type"].endswith("/category-already-licensed") and a.json()["seats_per_device"] == 2
                   for a in answers if a.status_code == 409)
        assert len(await office_seats_held(licenses, device["id"])) == 2
        for pool in pools:
            await pool_agrees_with_ledger(licenses, admin, pool["id"])
