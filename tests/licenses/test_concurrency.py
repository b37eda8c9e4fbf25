"""The seat cap holds under concurrency: 200+ simultaneous requests for a 50-seat pool."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import sqlalchemy as sa

from services.licenses.allocations.models import Allocation
from tests.licenses.conftest import PREFIX, allocate, make_device, make_devices, make_pool


async def test_exactly_the_pool_size_succeeds_under_a_burst_of_requests(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(3):
        pool = await make_pool(licenses, admin, quantity=50, product=f"Office round {round_}")
        devices = await make_devices(licenses, admin, 220, f"r{round_}")
        answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], device) for device in devices))
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 50, 409: 170}, statuses
        assert all(a.json()["type"].endswith("/no-seats-available") for a in answers if a.status_code == 409)
        after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
        assert (after["allocated"], after["available"]) == (50, 0)
        async with licenses.db.session() as session:
            active = (await session.execute(sa.select(sa.func.count()).select_from(Allocation).where(
                Allocation.pool_id == uuid.UUID(pool["id"]), Allocation.status == "active"))).scalar()
        assert active == 50


async def test_the_same_assignee_racing_itself_gets_one_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=10)
    device = await make_device(licenses, admin, "SAME-1")
    answers = await asyncio.gather(*(allocate(licenses, admin, pool["id"], device["id"]) for _ in range(30)))
    assert Counter(a.status_code for a in answers) == {201: 1, 200: 29}
    assert len({a.json()["id"] for a in answers}) == 1
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert after["allocated"] == 1
