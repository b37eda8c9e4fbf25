"""A query cancelled twice on SQLite leaves no task behind (kernel.db). SQLAlchemy closes a connection
it gives up on in a shielded task; with aiosqlite 0.22 a second cancel stopped the connection's
thread under that task, which then waited forever — and asyncio.run's final cancel-and-wait (and the
test runner's) with it: the suite hung in a teardown, the process at shutdown."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from kernel.db import Database
from tests.support.apps import eventually

# Counts to 5 million in SQLite's own thread: long enough to cancel twice while it runs (1–2 s on a quiet machine).
SLOW = sa.text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
               "SELECT count(*) FROM c")


async def test_a_query_cancelled_twice_leaves_no_task_behind(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'slow.db'}", pool_size=1)
    started = asyncio.Event()

    async def slow_query():
        async with database.session() as session:
            started.set()
            await session.execute(SLOW)

    query = asyncio.create_task(slow_query())
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(0.2)  # the query is in SQLite's thread now (nothing to poll for there)
    query.cancel()
    await asyncio.sleep(0.2)  # the pool is closing the connection now
    query.cancel()
    await asyncio.wait({query}, timeout=120)  # the thread finishes its query first: slow when busy
    assert query.done()

    async def nothing_left():
        return not (asyncio.all_tasks() - {asyncio.current_task()})

    try:
        await eventually(nothing_left, timeout=120)
    finally:
        await database.dispose()
