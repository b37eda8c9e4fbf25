"""The `zhengban` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import sys
from pathlib import Path

from zhengban.processes import PROCESSES

# How long a process keeps an idle keep-alive connection open (uvicorn's default, named here): the
# gateway's pool lets its connections to the services go sooner (gateway/proxy.py
# `POOLED_IDLE_SECONDS`), so that it never reuses one a service is closing.
KEEP_ALIVE_SECONDS = 5


def _serve(args: argparse.Namespace) -> None:
    import uvicorn
    from uvicorn.main import STARTUP_FAILURE

    from zhengban.processes import app_module

    module = app_module(args.process)
    settings = module.SETTINGS()
    if args.port:
        settings.port = args.port
    app = module.create_app(settings)
    # The imports and the app built above live as long as the process: frozen out of the cyclic
    # collector's reach, its full collections no longer walk them each time. Three of them were
    # 1.4 s of a 10,000-seat bulk allocation (docs/performance.md, "Bulk allocation, set-based").
    gc.collect()
    gc.freeze()
    # uvloop and httptools come with uvicorn[standard]; access lines are logged as JSON by the app.
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1, any local
    # process included. The gateway reads it from `ZHENGBAN_TRUSTED_PROXIES` only (gateway/app.py).
    # What `uvicorn.run` does for one process, but able to serve on the listening socket `zhengban
    # up` bound and keeps (`--fd`; zhengban/ports.py, `listening_socket`).
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, access_log=False,
                                           log_level="warning", timeout_graceful_shutdown=5, proxy_headers=False,
                                           timeout_keep_alive=KEEP_ALIVE_SECONDS))
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=None if args.fd is None else [socket.socket(fileno=args.fd)])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _migrate(args: argparse.Namespace) -> None:
    from zhengban.migrate import migrate_all, process_database_urls

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    urls = process_database_urls(data_dir, args.database_url)
    asyncio.run(migrate_all(urls))
    for name, url in urls.items():
        print(f"{name}: migrated ({url.split('@')[-1]})")


def _up(args: argparse.Namespace) -> None:
    from zhengban.up import StackConfig, run_up

    config = StackConfig(
        data_dir=Path(args.data_dir), port=args.port, database_url=args.database_url, nats_url=args.nats_url,
        nats_cluster=args.nats_cluster, replicas=args.replicas,
        admin_password=os.environ.get("ZHENGBAN_ADMIN_PASSWORD") or None,
    )
    try:
        asyncio.run(run_up(config))
    except TimeoutError as exc:
        sys.exit(f"zhengban up: {exc}")


def _demo(args: argparse.Namespace) -> None:
    from zhengban.demo import admin_password, gateway_problem, run_demo
    from zhengban.demo.client import ApiError

    if problem := gateway_problem(args.gateway_url):
        sys.exit(f"zhengban demo: {problem}")
    try:
        run_demo(args.gateway_url, admin_password(Path(args.data_dir), args.admin_password))
    except ApiError as exc:
        hint = " (wrong admin password? pass --admin-password)" if "/auth/token" in str(exc) else ""
        sys.exit(f"\nzhengban demo: {exc}{hint}")


def _bench(args: argparse.Namespace) -> None:
    from zhengban.bench import SCENARIOS, main, postgres_available

    if args.database == "postgres" and not postgres_available(args.postgres_url):
        sys.exit(f"zhengban bench: no PostgreSQL answers at {args.postgres_url}; start one, pass --postgres-url, "
                 "or run with --database sqlite")
    if args.generator == "python":
        from zhengban.bench import wrk

        wrk.ENABLED = False
    main(args.scenario or list(SCENARIOS), quick=args.quick, json_path=args.json, database=args.database,
         postgres_url=args.postgres_url, replicas=args.replicas)


def _migration(args: argparse.Namespace) -> None:
    import tempfile

    from kernel.migrations import new_revision
    from zhengban.processes import app_module

    with tempfile.TemporaryDirectory() as scratch:
        path = new_revision(app_module(args.process).MIGRATIONS, args.message, Path(scratch))
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: read it, "
          "then run the migration tests (pytest tests/kernel/test_migrations.py)")


def _wait(args: argparse.Namespace) -> None:
    from zhengban.wait import address_of, wait_for

    for target in args.targets:
        try:
            address_of(target)
        except ValueError:
            sys.exit(f"zhengban wait: {target!r} is neither host:port nor a URL (e.g. db:5432, nats://nats:4222)")
    wait_for(args.targets, args.timeout)


def version() -> str:
    """The installed distribution's version (pyproject.toml's `version`)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("zhengban")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhengban", description="正版 Zhengban: budgets, joint procurement, "
                                     "license pools.")
    parser.add_argument("--version", action="version", version=f"zhengban {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run NATS, the services and the gateway in the foreground")
    up.add_argument("--data-dir", default=os.environ.get("ZHENGBAN_DATA_DIR", ".data"))
    up.add_argument("--port", type=int, default=8000, help="the gateway's port")
    up.add_argument("--database-url", default=os.environ.get("ZHENGBAN_DATABASE_URL"),
                    help="postgresql://user@host:port: one database per process, created if missing")
    up.add_argument("--nats-url", default=os.environ.get("NATS_URL"), help="use this NATS instead of starting one")
    up.add_argument("--nats-cluster", type=int, default=1, choices=(1, 3),
                    help="3: a three-node NATS cluster on loopback, streams with 3 replicas")
    up.add_argument("--replicas", type=int, default=1, help="processes per service")
    up.set_defaults(func=_up)

    migrate = sub.add_parser("migrate", help="bring every database to the latest schema")
    migrate.add_argument("--data-dir", default=os.environ.get("ZHENGBAN_DATA_DIR", ".data"))
    migrate.add_argument("--database-url", default=os.environ.get("ZHENGBAN_DATABASE_URL"))
    migrate.set_defaults(func=_migrate)

    serve = sub.add_parser("serve", help="run one process (settings from its ZHENGBAN_<NAME>_* variables)")
    serve.add_argument("process", choices=PROCESSES)
    serve.add_argument("--port", type=int)
    serve.add_argument("--fd", type=int, help="serve on this inherited listening socket (as `zhengban up` starts it)")
    serve.set_defaults(func=_serve)

    migration = sub.add_parser("migration", help="write the next migration of one process, autogenerated "
                               "from its tables (read it before committing)")
    migration.add_argument("process", choices=PROCESSES)
    migration.add_argument("message", help="what the migration does, in a few words")
    migration.set_defaults(func=_migration)

    wait = sub.add_parser("wait", help="wait until these services answer (host:port or URLs), then exit 0")
    wait.add_argument("targets", nargs="+")
    wait.add_argument("--timeout", type=float, default=120)
    wait.set_defaults(func=_wait)

    demo = sub.add_parser("demo", help="fill a running instance with a realistic scenario, through the API")
    demo.add_argument("--gateway-url", default=os.environ.get("ZHENGBAN_GATEWAY_URL", "http://127.0.0.1:8000"))
    demo.add_argument("--data-dir", default=os.environ.get("ZHENGBAN_DATA_DIR", ".data"),
                      help="where `make up` wrote admin-password.txt")
    demo.add_argument("--admin-password", default=os.environ.get("ZHENGBAN_ADMIN_PASSWORD"))
    demo.set_defaults(func=_demo)

    bench = sub.add_parser("bench", help="run the benchmarks against the real processes; a table and JSON")
    bench.add_argument("--scenario", action="append", choices=("hot_pool", "many_pools", "gateway_overhead", "audit",
                                                                "order_flow", "scale", "imports", "oversight",
                                                                "inventory_reports"),
                       help="run only these (repeatable); all by default")
    bench.add_argument("--replicas", type=int, default=1, help="processes per service (`zhengban up --replicas`)")
    bench.add_argument("--generator", choices=("auto", "python"), default="auto",
                       help="auto: wrk when installed; python: the bench's own client (a cross-check)")
    bench.add_argument("--quick", action="store_true", help="short runs and small sizes (the smoke test)")
    bench.add_argument("--json", default="bench-results.json")
    bench.add_argument("--database", choices=("auto", "postgres", "sqlite"), default="auto",
                       help="auto: PostgreSQL when one answers at --postgres-url, else SQLite")
    bench.add_argument("--postgres-url", default=os.environ.get("ZHENGBAN_BENCH_POSTGRES_URL",
                                                                "postgresql://postgres@127.0.0.1:5432"))
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)
