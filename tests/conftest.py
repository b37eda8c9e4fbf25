"""Fixtures every test can use: a real NATS server, fresh migrated databases, keys and an org tree.

Run on PostgreSQL with ZHENGBAN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432
(each test gets its own database, made from a migrated template and dropped at the end).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.support.apps import run_app
from tests.support.databases import DatabaseFactory, on_postgres
from tests.support.identity import OrgTree, TestKeys, standard_tree
from tests.support.nats import NatsServer

# The PostgreSQL pass (ZHENGBAN_TEST_DATABASE_URL set) leaves out the tests that never touch a
# database: they would only run a second time with the same result. The SQLite pass runs everything.
#
# Left out, whole modules (they read files, parse, or start no database at all):
NO_DATABASE_MODULES = {
    "tests/cli/test_friendly_errors.py",      # the CLI's one-line errors, against ports nothing listens on
    "tests/console/test_forms.py",            # the console's form parsing, pure functions
    "tests/console/test_translations.py",     # the console's message catalogues
    "tests/deploy/test_manifests.py",         # compose and Kubernetes files, and the CLI's parser
    "tests/kernel/test_bounds.py",            # input bounds of the schemas
    "tests/kernel/test_errors.py",            # problem+json of an app with no database
    "tests/kernel/test_tokens.py",            # token verification
    "tests/procurement/test_visibility_doc.py",  # the visibility table of the docs
    "tests/security/test_api_shape.py",       # the merged OpenAPI document
    "tests/security/test_role_table.py",      # the role table against the routes
}
# Left out, single tests: in the in-process directories below, a test that takes no `databases`
# fixture (directly or through another, e.g. start_service) has no database to run on. Today those
# are the token-lifetime settings of tests/gateway/test_bad_values.py, the id-order test of
# tests/kernel/test_history.py, the exact count of tests/kernel/test_published.py, the state-table
# tests of tests/kernel/test_transitions.py, the working-day arithmetic of
# tests/procurement/test_campaigns.py and test_working_days.py, and the schema and document checks
# of tests/procurement/test_ocds.py and test_confidentiality.py.
IN_PROCESS_DIRECTORIES = ("tests/budget/", "tests/gateway/", "tests/kernel/", "tests/licenses/",
                          "tests/procurement/")
# Everything else runs on both: the end-to-end, console, security and bench tests start `zhengban up`
# (or the bench), which takes its databases on the PostgreSQL server.
DATABASE_FIXTURES = {"databases", "stack"}


def pytest_collection_modifyitems(config, items):
    if not on_postgres():
        return
    kept, left_out = [], []
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        uses_database = bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))
        if path in NO_DATABASE_MODULES:
            if uses_database:
                raise pytest.UsageError(f"{item.nodeid} uses a database: take its module out of NO_DATABASE_MODULES")
            left_out.append(item)
        elif path.startswith(IN_PROCESS_DIRECTORIES) and not uses_database:
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> DatabaseFactory:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    asyncio.run(factory.drop_all())


@pytest.fixture(scope="session")
def session_nats(tmp_path_factory) -> NatsServer:
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats(session_nats) -> NatsServer:
    """The session's NATS server, with no stream on it: every stream (so every message, consumer
    and duplicate window) is deleted before each test, so that no test sees another's events. The
    apps a test starts provision the streams again, as on a fresh server. A test that stops or
    kills NATS takes `own_nats` instead."""
    if not session_nats.running:  # a test stopped it by mistake: the next ones still get a server
        session_nats.start()
    session_nats.delete_streams()
    return session_nats


@pytest.fixture
def own_nats(tmp_path) -> NatsServer:
    """A NATS server for this test alone, which it may stop and start again."""
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
