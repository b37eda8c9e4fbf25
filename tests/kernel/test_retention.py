"""Idempotency keys and inbox rows are kept as long as the settings say, then pruned."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from kernel.db import Database
from kernel.ids import utcnow
from kernel.retention import prune
from kernel.schema import idempotency_keys, inbox
from tests.support.apps import eventually


async def add_rows(db: Database, key_ages: dict[str, timedelta], inbox_ages: dict[uuid.UUID, timedelta]) -> None:
    now = utcnow()
    async with db.session() as session:
        for key, age in key_ages.items():
            await session.execute(sa.insert(idempotency_keys).values(
                scope="user:test", key=key, request_hash="0" * 64, status_code=201, response_body=b"{}",
                response_headers=[], created_at=now - age))
        for event_id, age in inbox_ages.items():
            await session.execute(sa.insert(inbox).values(consumer="test", event_id=event_id,
                                                          processed_at=now - age))
        await session.commit()


async def remaining(db: Database) -> tuple[set[str], set[uuid.UUID]]:
    async with db.session() as session:
        keys = set((await session.execute(sa.select(idempotency_keys.c.key))).scalars())
        events = set((await session.execute(sa.select(inbox.c.event_id))).scalars())
    return keys, events


async def test_pruning_removes_old_rows_and_keeps_young_ones(databases):
    db = Database(await databases.fresh("budget"))
    try:
        old_event, young_event = uuid.uuid4(), uuid.uuid4()
        await add_rows(db, {"old": timedelta(hours=49), "day-old": timedelta(hours=47), "new": timedelta(minutes=1)},
                       {old_event: timedelta(days=31), young_event: timedelta(days=29)})
        pruned = await prune(db, keys_kept=timedelta(hours=48), inbox_kept=timedelta(days=30))
        assert pruned == {"idempotency_keys": 1, "inbox": 1}
        assert await remaining(db) == ({"day-old", "new"}, {young_event})
        assert await prune(db, keys_kept=timedelta(hours=48), inbox_kept=timedelta(days=30)) == {
            "idempotency_keys": 0, "inbox": 0}
    finally:
        await db.dispose()


async def test_every_service_prunes_in_the_background(start_service):
    service = await start_service("licenses", idempotency_key_retention_hours=24, inbox_retention_days=1,
                                  retention_prune_interval_seconds=1)
    old_event, young_event = uuid.uuid4(), uuid.uuid4()
    await add_rows(service.db, {"old": timedelta(hours=25), "young": timedelta(hours=23)},
                   {old_event: timedelta(days=2), young_event: timedelta(hours=23)})

    async def pruned():
        keys, events = await remaining(service.db)
        return "old" not in keys and old_event not in events and (keys, events)

    keys, events = await eventually(pruned, timeout=15)
    assert "young" in keys and young_event in events
