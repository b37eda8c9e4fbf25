"""The licenses service in-process on a fresh database, the org tree seeded and NATS beside it:
what the profiling scripts beside this module (bulk_call, import_call) start before they time a call."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from tests.support.apps import RunningApp, run_app
from tests.support.databases import DatabaseFactory
from tests.support.identity import OrgTree, TestKeys, standard_tree
from tests.support.nats import NatsServer


@contextlib.asynccontextmanager
async def licenses_in_process() -> AsyncIterator[tuple[RunningApp, OrgTree]]:
    tmp = Path(tempfile.mkdtemp())
    nats = NatsServer(tmp / "nats")
    nats.start()
    databases = DatabaseFactory(tmp)
    keys = TestKeys()
    tree = standard_tree(keys)
    try:
        url = await databases.fresh("licenses")
        async with run_app("licenses", database_url=url, nats_url=nats.url, static_jwks=keys.jwks) as svc:
            async with svc.db.session() as session:
                await tree.seed(session)
            yield svc, tree
    finally:
        await databases.drop_all()
        nats.stop()
