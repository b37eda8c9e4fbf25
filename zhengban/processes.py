"""The four kinds of process and where each keeps its app, settings and migrations."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PROCESSES = ("gateway", "budget", "procurement", "licenses")
SERVICES = ("budget", "procurement", "licenses")


def app_module(name: str) -> ModuleType:
    """The module with `create_app`, `SETTINGS`, `MIGRATIONS` and `database_url` of a process."""
    if name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}; one of {', '.join(PROCESSES)}")
    return importlib.import_module("gateway.app" if name == "gateway" else f"services.{name}.app")


def env_prefix(name: str) -> str:
    return f"ZHENGBAN_{name.upper()}_"


def database_name(name: str) -> str:
    """`zhengban_budget` etc.; ZHENGBAN_DATABASE_PREFIX lets several installations (or test runs)
    share one PostgreSQL server."""
    return f"{os.environ.get('ZHENGBAN_DATABASE_PREFIX', 'zhengban')}_{name}"


def postgres_url_for(server_url: str, name: str) -> str:
    """`postgresql://user@host:port` (any database part is replaced) → that process's database."""
    from sqlalchemy.engine import make_url

    from kernel.db import normalize_url

    url = make_url(normalize_url(server_url)).set(database=database_name(name))
    return url.render_as_string(hide_password=False)
