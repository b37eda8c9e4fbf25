"""The `zhengban` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from zhengban.processes import PROCESSES


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from zhengban.processes import app_module

    module = app_module(args.process)
    settings = module.SETTINGS()
    if args.port:
        settings.port = args.port
    app = module.create_app(settings)
    # uvloop and httptools come with uvicorn[standard]; access lines are logged as JSON by the app.
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="warning",
                timeout_graceful_shutdown=5)


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


def _not_yet(name: str):
    def run(_args: argparse.Namespace) -> None:
        sys.exit(f"zhengban {name}: not built yet")

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhengban", description="正版 Zhengban: budgets, joint procurement, "
                                     "license pools.")
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
    serve.set_defaults(func=_serve)

    for name, text in (("demo", "fill a running instance with a realistic scenario"),
                       ("bench", "run the benchmarks")):
        sub.add_parser(name, help=text).set_defaults(func=_not_yet(name))
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)
