"""Every process's migrations run from empty to head, back to base, and up again, on this database."""

import asyncio

import pytest
import sqlalchemy as sa

from kernel.db import Database
from kernel.migrations import downgrade, upgrade
from kernel.schema import kernel_metadata
from zhengban.processes import PROCESSES, app_module


async def table_names(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names())) - {"alembic_version"}
    finally:
        await db.dispose()


@pytest.mark.parametrize("process", PROCESSES)
async def test_migrations_from_empty_to_head_and_back(databases, process):
    url = await databases.empty(process)
    module = app_module(process)
    await asyncio.to_thread(upgrade, module.MIGRATIONS, url)
    tables = await table_names(url)
    # The migrations create exactly what the models describe, plus the kernel's tables.
    assert tables == set(module.metadata().tables) | set(kernel_metadata.tables)
    await asyncio.to_thread(downgrade, module.MIGRATIONS, url)
    assert await table_names(url) == set()
    await asyncio.to_thread(upgrade, module.MIGRATIONS, url)
    assert await table_names(url) == tables


def _schema_diff(connection, metadatas):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"target_metadata": metadatas})
    return [d for d in compare_metadata(context, metadatas) if not _ignorable(d)]


def _ignorable(diff) -> bool:
    # Alembic's own bookkeeping table is not described by any model.
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"


@pytest.mark.parametrize("process", PROCESSES)
async def test_models_and_migrations_agree(databases, process):
    module = app_module(process)
    url = await databases.fresh(process)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(_schema_diff, [module.metadata(), kernel_metadata])
    finally:
        await db.dispose()
    assert diff == []
