"""Migrations of all four databases, and where each database lives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kernel.migrations import ensure_postgres_database, upgrade
from zhengban.processes import PROCESSES, app_module, postgres_url_for


def process_database_urls(data_dir: Path, server_url: str | None) -> dict[str, str]:
    """SQLite files in the data dir, or one database per process on a PostgreSQL server."""
    if server_url:
        return {name: postgres_url_for(server_url, name) for name in PROCESSES}
    return {name: f"sqlite+aiosqlite:///{(data_dir / f'{name}.db').resolve()}" for name in PROCESSES}


async def migrate_all(urls: dict[str, str]) -> None:
    for name, url in urls.items():
        await ensure_postgres_database(url)
        await asyncio.to_thread(upgrade, app_module(name).MIGRATIONS, url)
