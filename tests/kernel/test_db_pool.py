"""The connection pool's check of idle connections (kernel.db): a connection the server dropped
while it sat in the pool is replaced, not handed to a request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel import db as kernel_db
from kernel.db import Database
from tests.support.databases import on_postgres

pytestmark = pytest.mark.skipif(not on_postgres(), reason="the server drops a connection: PostgreSQL only")


async def backend_pid(database: Database) -> int:
    async with database.session() as session:
        return (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()


async def drop_backend(database_url: str, pid: int) -> None:
    other = Database(database_url, pool_size=1)
    try:
        async with other.session() as session:
            assert (await session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    finally:
        await other.dispose()


async def test_a_connection_dropped_while_idle_is_replaced_on_checkout(databases, monkeypatch):
    url = await databases.fresh("licenses")
    database = Database(url, pool_size=1)
    try:
        first = await backend_pid(database)
        await drop_backend(url, first)
        # Idle for longer than the threshold (made zero here instead of waiting a second).
        monkeypatch.setattr(kernel_db, "PING_AFTER_IDLE_SECONDS", 0.0)
        second = await backend_pid(database)
        assert second != first
    finally:
        await database.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(databases, monkeypatch):
    url = await databases.fresh("licenses")
    database = Database(url, pool_size=1)
    try:
        first = await backend_pid(database)
        await drop_backend(url, first)
        monkeypatch.setattr(kernel_db, "PING_AFTER_IDLE_SECONDS", 3600.0)
        # Unchecked, the stale connection fails the statement; the disconnect replaces it.
        with pytest.raises(sa.exc.DBAPIError) as failed:
            await backend_pid(database)
        assert failed.value.connection_invalidated
        assert await backend_pid(database) != first
    finally:
        await database.dispose()


async def test_a_service_whose_connections_the_server_closed_answers_503_then_serves_again(start_service, tree,
                                                                                          monkeypatch):
    # As after a PostgreSQL restart, with every connection just used (none old enough to be pinged).
    monkeypatch.setattr(kernel_db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    # No background loop: the first request is the one that meets a dead connection, so the 503 is
    # certain (with the loops on, one of them may meet it first and every request would pass).
    licenses = await start_service("licenses", run_background=False)
    admin = tree.actor("dept_a", "it_admin")
    assert (await licenses.client.get("/api/v1/licenses/pools", headers=admin.headers)).status_code == 200
    closed = await drop_all_backends(licenses.database_url)
    assert closed >= 1
    answers = [await licenses.client.get("/api/v1/licenses/pools", headers=admin.headers) for _ in range(3)]
    first, *rest = answers
    assert first.status_code == 503, first.text
    assert first.headers["content-type"] == "application/problem+json" and first.headers["retry-after"] == "1"
    assert first.json()["status"] == 503
    # The disconnect invalidated the whole pool: the next requests get new connections.
    for resp in rest:
        assert resp.status_code == 200 and resp.json()["items"] == [], resp.text


async def drop_all_backends(database_url: str) -> int:
    """Closes every other connection to the database, as a server restart would."""
    other = Database(database_url, pool_size=1)
    try:
        async with other.session() as session:
            return (await session.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
    finally:
        await other.dispose()
