"""A fresh, migrated database for every test, on SQLite or on PostgreSQL.

Each process's migrations run once per test session into a template (a SQLite file, or a
PostgreSQL database); each test then gets its own copy, so tests share nothing and run in any
order. Set ZHENGBAN_TEST_DATABASE_URL=postgresql://user@host:port to run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from kernel.db import normalize_url
from kernel.migrations import upgrade
from zhengban.processes import app_module

TEST_DATABASE_URL = os.environ.get("ZHENGBAN_TEST_DATABASE_URL", "").strip()


def on_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


def _pg_url(database: str, *, driver: str = "postgresql") -> str:
    return make_url(normalize_url(TEST_DATABASE_URL)).set(drivername=driver, database=database).render_as_string(
        hide_password=False)


async def _pg_admin():
    return await asyncpg.connect(_pg_url("postgres"))


class DatabaseFactory:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.templates: dict[str, str] = {}
        self.created: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]

    async def template(self, process: str) -> str:
        if process in self.templates:
            return self.templates[process]
        migrations = app_module(process).MIGRATIONS
        if on_postgres():
            name = f"zbt_{self.run_id}_tmpl_{process}"
            conn = await _pg_admin()
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            await asyncio.to_thread(upgrade, migrations, _pg_url(name, driver="postgresql+asyncpg"))
            self.created.append(name)
            self.templates[process] = name
        else:
            path = self.workdir / f"template-{process}.db"
            await asyncio.to_thread(upgrade, migrations, f"sqlite+aiosqlite:///{path}")
            self.templates[process] = str(path)
        return self.templates[process]

    async def fresh(self, process: str) -> str:
        """Returns the URL of a new, migrated database of `process` for one test."""
        template = await self.template(process)
        if on_postgres():
            name = f"zbt_{self.run_id}_{process}_{uuid.uuid4().hex[:10]}"
            conn = await _pg_admin()
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            finally:
                await conn.close()
            self.created.append(name)
            return _pg_url(name, driver="postgresql+asyncpg")
        path = self.workdir / f"{process}-{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def empty(self, process: str) -> str:
        """Returns the URL of a new database with no tables at all (for migration tests)."""
        if on_postgres():
            name = f"zbt_{self.run_id}_empty_{process}_{uuid.uuid4().hex[:6]}"
            conn = await _pg_admin()
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            self.created.append(name)
            return _pg_url(name, driver="postgresql+asyncpg")
        return f"sqlite+aiosqlite:///{self.workdir / f'empty-{process}-{uuid.uuid4().hex[:6]}.db'}"

    async def drop_all(self) -> None:
        if not on_postgres() or not self.created:
            return
        conn = await _pg_admin()
        try:
            for name in reversed(self.created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def drop_databases_named(names: list[str]) -> None:
    """Drops these PostgreSQL databases on the test server (blocking; for sync test code).

    Runs on a thread of its own: sync callers may sit inside someone else's running event loop
    (Playwright's sync API keeps one), where asyncio.run() refuses to start.
    """

    async def drop():
        conn = await _pg_admin()
        try:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, drop()).result()
