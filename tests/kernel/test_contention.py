"""kernel.contention: a use-case the database fails to break a deadlock runs again, in a fresh
transaction; when it keeps failing the caller gets 409 `contended` with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from fastapi import FastAPI

from kernel.contention import ATTEMPTS, retried
from kernel.db import Database, make_metadata
from kernel.errors import Contended, install_problem_handlers
from kernel.ids import new_id
from tests.support.databases import on_postgres

metadata = make_metadata()
counters = sa.Table("test_counters", metadata, sa.Column("id", sa.Uuid, primary_key=True),
                    sa.Column("value", sa.Integer, nullable=False))


class FakeDeadlock(Exception):
    sqlstate = "40P01"


def deadlock() -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("UPDATE …", {}, FakeDeadlock("deadlock detected"))


@pytest.fixture
async def db(databases):
    database = Database(await databases.fresh("budget"))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def values(db: Database, ids) -> list[int]:
    async with db.session() as session:
        return [(await session.execute(sa.select(counters.c.value).where(counters.c.id == i))).scalar() for i in ids]


@pytest.mark.skipif(not on_postgres(), reason="SQLite's BEGIN IMMEDIATE runs writers one at a time: no deadlock")
async def test_two_transactions_locking_in_opposite_orders_both_finish(db):
    a, b = new_id(), new_id()
    async with db.session() as session, session.begin():
        await session.execute(sa.insert(counters), [{"id": a, "value": 0}, {"id": b, "value": 0}])
    both_hold_one = asyncio.Barrier(2)
    runs: list[uuid.UUID] = []

    @retried
    async def add_one_to_both(session, first, second):
        runs.append(first)
        await session.execute(sa.update(counters).where(counters.c.id == first).values(value=counters.c.value + 1))
        if len(runs) <= 2:  # the first two runs meet, each holding one row: a deadlock for sure
            await both_hold_one.wait()
        await session.execute(sa.update(counters).where(counters.c.id == second).values(value=counters.c.value + 1))
        await session.commit()

    async def run(first, second):
        async with db.session() as session:
            await add_one_to_both(session, first, second)

    await asyncio.gather(run(a, b), run(b, a))
    assert len(runs) == 3  # PostgreSQL failed one of the two; it ran again and finished
    assert await values(db, [a, b]) == [2, 2]


async def test_a_use_case_failing_every_time_answers_409_contended_with_retry_after(db):
    row = new_id()
    async with db.session() as session, session.begin():
        await session.execute(sa.insert(counters).values(id=row, value=0))
    runs = 0

    @retried
    async def always_deadlocks(session):
        nonlocal runs
        runs += 1
        await session.execute(sa.update(counters).where(counters.c.id == row).values(value=counters.c.value + 1))
        raise deadlock()

    async with db.session() as session:
        with pytest.raises(Contended) as refused:
            await always_deadlocks(session)
    assert runs == ATTEMPTS
    assert (refused.value.status, refused.value.slug, refused.value.headers) == (409, "contended", {"Retry-After": "1"})
    assert await values(db, [row]) == [0]  # every failed run was rolled back

    app = FastAPI()

    @app.post("/contended")
    async def contended():
        async with db.session() as session:
            await always_deadlocks(session)

    @app.post("/unwrapped")
    async def unwrapped():
        raise deadlock()  # a use-case not wrapped in retried: still no 500

    install_problem_handlers(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as client:
        for path in ("/contended", "/unwrapped"):
            answer = await client.post(path)
            assert answer.status_code == 409 and answer.headers["retry-after"] == "1", answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"].endswith("/contended") and answer.json()["status"] == 409


async def test_other_database_errors_are_not_retried(db):
    runs = 0

    @retried
    async def broken(session):
        nonlocal runs
        runs += 1
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, ValueError("a bug"))

    async with db.session() as session:
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            await broken(session)
    assert runs == 1
