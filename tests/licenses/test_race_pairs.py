"""The race pairs of issue 27 on one pool or device (SPEC Guarantees): allocate × reclaim, allocate ×
retire, seat transfer × allocate, expiry × allocate, bulk × bulk over the last seats. Each command
takes effect once or answers 409 problem+json with a stable type; nothing answers 5xx; the pool's
counters, its allocations and its ledger agree afterwards and never exceed its seats."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import sqlalchemy as sa

from kernel.ids import utcnow
from services.licenses.allocations.models import Allocation
from services.licenses.expiry.service import expire_due
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool
from tests.licenses.test_lock_order import no_server_errors
from tests.licenses.test_races import pool_agrees_with_ledger
from tests.support.races import RACERS, ROUNDS, one_winner


def slugs(answers) -> set[str]:
    return {a.json()["type"].rsplit("/", 1)[1] for a in answers if a.status_code >= 400}


async def active_seats(licenses, pool_id: str, device_id: str | None = None) -> list[uuid.UUID]:
    query = sa.select(Allocation.id).where(Allocation.pool_id == uuid.UUID(pool_id), Allocation.status == "active")
    if device_id:
        query = query.where(Allocation.assignee_id == device_id)
    async with licenses.db.session() as session:
        return list((await session.execute(query)).scalars())


async def test_allocate_racing_a_reclaim_of_the_last_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1)
    for round_ in range(ROUNDS):
        holder = await make_device(licenses, admin, f"AR-{round_}-holder")
        seat = await allocate(licenses, admin, pool["id"], holder["id"])
        assert seat.status_code == 201, seat.text
        newcomer = await make_device(licenses, admin, f"AR-{round_}-new")
        commands = ["reclaim", "allocate"] * (RACERS // 2)
        random.shuffle(commands)
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/allocations/{seat.json()['id']}/reclaim", headers=admin.headers,
                                 json={"reason": "回收"}) if c == "reclaim"
            else allocate(licenses, admin, pool["id"], newcomer["id"]) for c in commands))
        no_server_errors(answers, allowed=("already-reclaimed", "no-seats-available"))
        one_winner([a for c, a in zip(commands, answers, strict=True) if c == "reclaim"], slug="already-reclaimed")
        given = {a.json()["id"] for c, a in zip(commands, answers, strict=True)
                 if c == "allocate" and a.status_code in (200, 201)}
        assert len(given) <= 1  # the newcomer got the freed seat once, or found none left
        now = await pool_agrees_with_ledger(licenses, admin, pool["id"])
        assert now["allocated"] == len(given) <= now["total"] == 1
        for allocation_id in given:  # free the seat for the next round
            assert (await licenses.client.post(f"{PREFIX}/allocations/{allocation_id}/reclaim", headers=admin.headers,
                                               json={"reason": "下一轮"})).status_code == 200


async def test_allocate_racing_the_retirement_of_the_device(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=ROUNDS)
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"AT-{round_}")
        commands = ["retire", "allocate"] * (RACERS // 2)
        random.shuffle(commands)
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/devices/{device['id']}/retire", headers=admin.headers) if c == "retire"
            else allocate(licenses, admin, pool["id"], device["id"]) for c in commands))
        no_server_errors(answers, allowed=("already-retired", "device-retired"))
        one_winner([a for c, a in zip(commands, answers, strict=True) if c == "retire"], slug="already-retired")
        given = {a.json()["id"] for c, a in zip(commands, answers, strict=True)
                 if c == "allocate" and a.status_code in (200, 201)}
        assert len(given) <= 1
        # A seat given before the retirement was given back by it; none is left on a retired device.
        assert await active_seats(licenses, pool["id"], device["id"]) == []
        assert (await pool_agrees_with_ledger(licenses, admin, pool["id"]))["allocated"] == 0


async def test_a_seat_transfer_racing_allocations_never_moves_a_seat_in_use(licenses, tree):
    admin = tree.actor("province", "it_admin")
    for round_ in range(ROUNDS):
        pool = await make_pool(licenses, admin, org=tree["dept_a"], quantity=RACERS, product=f"Moving {round_}")
        devices = [await make_device(licenses, admin, f"TA-{round_}-{i}", org=tree["dept_a"]) for i in range(RACERS)]
        answers = await asyncio.gather(
            *(licenses.client.post(f"{PREFIX}/transfers", headers=admin.headers, json={
                "from_pool_id": pool["id"], "to_org_id": str(tree["dept_b"].id), "seats": RACERS // 2,
                "reason": "调配"}) for _ in range(2)),
            *(allocate(licenses, admin, pool["id"], d["id"]) for d in devices))
        no_server_errors(answers, allowed=("not-enough-idle-seats", "no-seats-available", "contended"))
        moved = sum(RACERS // 2 for a in answers[:2] if a.status_code == 201)
        given = sum(1 for a in answers[2:] if a.status_code == 201)
        now = await pool_agrees_with_ledger(licenses, admin, pool["id"])
        assert (now["total"], now["allocated"]) == (RACERS - moved, given)
        assert moved + given <= RACERS


async def test_expiry_racing_allocations_leaves_no_seat_beyond_the_live_entitlements(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        product = f"Expiring {round_}"
        pool = await make_pool(licenses, admin, quantity=RACERS, product=product,
                               valid_to=(utcnow() + timedelta(hours=1)).isoformat())
        await make_pool(licenses, admin, quantity=2, product=product)  # perpetual: 2 seats stay
        devices = [await make_device(licenses, admin, f"EA-{round_}-{i}") for i in range(RACERS)]
        results = await asyncio.gather(expire_due(licenses.db, utcnow() + timedelta(hours=2)),
                                       *(allocate(licenses, admin, pool["id"], d["id"]) for d in devices))
        assert results[0] >= 1
        no_server_errors(results[1:], allowed=("no-seats-available",))
        now = await pool_agrees_with_ledger(licenses, admin, pool["id"])
        # Seats given before the expiry beyond the 2 left were taken back by it.
        assert now["total"] == 2 and now["allocated"] <= 2


async def test_bulk_allocations_racing_for_the_last_seats_give_each_seat_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        pool = await make_pool(licenses, admin, quantity=5, product=f"Last seats {round_}")
        devices = [await make_device(licenses, admin, f"BB-{round_}-{i}") for i in range(3 * RACERS)]
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations:bulk", headers=admin.headers, json={
                "items": [{"assignee_type": "device", "assignee_id": d["id"]} for d in devices[3 * n:3 * n + 3]]})
            for n in range(RACERS)))
        no_server_errors(answers)
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        items = [item for a in answers for item in a.json()["items"]]
        assert sum(1 for i in items if i["status"] == 201) == 5
        assert {i["problem"] for i in items if i["status"] != 201} == {"no-seats-available"}
        now = await pool_agrees_with_ledger(licenses, admin, pool["id"])
        assert (now["total"], now["allocated"]) == (5, 5)
        assert len(await active_seats(licenses, pool["id"])) == 5
