"""Fixtures every test can use: a real NATS server, fresh migrated databases, keys and an org tree.

Run on PostgreSQL with ZHENGBAN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432
(each test gets its own database, made from a migrated template and dropped at the end).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.support.apps import run_app
from tests.support.databases import DatabaseFactory
from tests.support.identity import OrgTree, TestKeys, standard_tree
from tests.support.nats import NatsServer


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> DatabaseFactory:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    asyncio.run(factory.drop_all())


@pytest.fixture
def nats(tmp_path) -> NatsServer:
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture
def tree(keys) -> OrgTree:
    return standard_tree(keys)


@pytest.fixture
async def start_service(databases, nats, keys, tree):
    """Starts a process's app in-process on a fresh database with the org tree seeded, and stops
    it at the end of the test: `svc = await start_service("budget")`; then `svc.client`, `svc.db`."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(process: str, *, database_url: str | None = None, **settings):
            url = database_url or await databases.fresh(process)
            running = await stack.enter_async_context(
                run_app(process, database_url=url, nats_url=nats.url, static_jwks=keys.jwks, **settings))
            async with running.db.session() as session:
                await tree.seed(session)
            return running

        yield start
