"""The compliance report of the bench's scale scenario, timed in-process, without HTTP:

    .venv/bin/python -m zhengban.bench.compliance_inprocess [--analyze] [--explain] [--runs 5]
    .venv/bin/python -m zhengban.bench.compliance_inprocess --titles 50000 [--service old/service.py]

Seeds a database of its own on PostgreSQL as the scale scenario leaves the licenses database (an
org with 100,000 devices holding one seat each of a `business` pool, another with 50,000 devices
each with an inventory report of one office suite, half of them with an office seat), then times
`compliance.service.position` and orjson's dump of its answer. `--analyze` runs ANALYZE after the
seeding (this server may have autovacuum off; a real one analyses such tables within a minute);
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of each statement the report runs. The database is
dropped at the end, unless named with `--keep` (then reused by the next run with that name: the
same rows for a report before and after a change). `--titles N` seeds and times instead the
scale scenario's report with titles (`scenarios.compliance_with_titles`: N computers with the
detection tool's ten entries each, recognized, seats of the WPS and Windows titles on 60 % and
50 % of them); `--service` times another copy of `compliance/service.py` (the code before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
import sqlalchemy as sa

from kernel import migrations
from kernel.auth import Principal
from kernel.db import Database
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory
from kernel.schema import orgs
from services.licenses.allocations.models import Allocation, AllocationEntry
from services.licenses.catalogue import service as catalogue
from services.licenses.compliance import service
from services.licenses.pools.models import Entitlement, Pool
from zhengban.bench import seed
from zhengban.bench.scenarios import SCANNED

ROOT, BENCH_ORG, GROUP = (uuid.UUID(int=n) for n in (1, 2, 3))
PATHS = {ROOT: f"/{ROOT.hex}/", BENCH_ORG: f"/{ROOT.hex}/{BENCH_ORG.hex}/", GROUP: f"/{ROOT.hex}/{GROUP.hex}/"}


def pool(org: uuid.UUID, category: str, total: int, name: str) -> dict:
    now = utcnow()
    return {"id": new_id(), "org_id": org, "org_path": PATHS[org], "product_key": name, "product_name": name,
            "vendor": "bench", "category": category, "metric": "device", "total": total, "allocated": 0,
            "created_at": now, "updated_at": now}


async def seed_database(url: str) -> None:
    """The scale scenario's rows: its orgs, 100,000 devices with a bulk's seats, then the report's org."""
    await asyncio.to_thread(migrations.upgrade, Path(service.__file__).parents[1] / "migrations", url)
    bulk = pool(BENCH_ORG, "business", 100_000, "bulk")
    office = pool(GROUP, "office", 50_000, "WPS Office")
    db = Database(url, pool_size=1)
    try:
        async with db.session() as session:
            names = {ROOT: (None, "root"), BENCH_ORG: (ROOT, "基准测试单位"), GROUP: (ROOT, "大型集团")}
            for org_id, (parent, name) in names.items():
                await session.execute(sa.insert(orgs).values(id=org_id, parent_id=parent, name=name, kind="unit",
                                                             path=PATHS[org_id], updated_at=utcnow()))
            await seed.insert(session, Pool, [pool(BENCH_ORG, "business", 1_000_000, "million"), bulk, office])
            await session.commit()
    finally:
        await db.dispose()
    device_ids = await asyncio.to_thread(seed.register_devices, url, {"id": str(BENCH_ORG), "path": PATHS[BENCH_ORG]},
                                         100_000, tag="BENCH-")
    now = utcnow()
    seats = [{"id": new_id(), "pool_id": bulk["id"], "org_id": BENCH_ORG, "assignee_type": "device",
              "assignee_id": device, "device_id": uuid.UUID(device), "category": "business", "status": "active",
              "allocated_at": now, "created_at": now, "updated_at": now} for device in device_ids]
    entries = [{"id": new_id(), "allocation_id": s["id"], "pool_id": bulk["id"], "category": "business",
                "device_id": s["device_id"], "kind": "allocated", "actor": "bench", "at": now} for s in seats]

    async def write_seats(session):
        await seed.insert(session, Allocation, seats)
        await seed.insert(session, AllocationEntry, entries)

    await asyncio.to_thread(seed.run, url, write_seats)
    await asyncio.to_thread(seed.devices_with_office, url, {"id": str(GROUP), "path": PATHS[GROUP]},
                            str(office["id"]), 50_000)


async def seed_titles(url: str, count: int) -> None:
    """The report-with-titles org of the scale scenario (GROUP, `count` computers), as
    `scenarios.compliance_with_titles` leaves it, the entries recognized by this catalogue."""
    await asyncio.to_thread(migrations.upgrade, Path(service.__file__).parents[1] / "migrations", url)
    db = Database(url, pool_size=1)
    now = utcnow()
    try:
        async with db.session() as session:
            for org_id, parent, name in ((ROOT, None, "root"), (GROUP, ROOT, "检测单位")):
                await session.execute(sa.insert(orgs).values(id=org_id, parent_id=parent, name=name, kind="unit",
                                                             path=PATHS[org_id], updated_at=now))
            recognizer = (await catalogue.current(session)).recognizer
            scan = []
            for name, vendor, version, every in SCANNED:
                found = recognizer.recognize(name, vendor, version)
                scan.append({"name": name, "vendor": vendor, "version": version, "every": every,
                             "title_id": found.title.id if found.title else None,
                             "not_a_product": found.not_a_product})
            seats = []
            for entry, category, share in ((scan[1], "office", 0.6), (scan[0], "os", 0.5)):
                titled = {**pool(GROUP, category, count, entry["name"]), "title_id": entry["title_id"]}
                await seed.insert(session, Pool, [titled])
                await seed.insert(session, Entitlement, [{
                    "id": new_id(), "pool_id": titled["id"], "org_id": GROUP, "category": category,
                    "title_id": entry["title_id"], "metric": "device", "quantity": count,
                    "product_name": entry["name"], "vendor": entry["vendor"], "source": "manual",
                    "created_at": now, "updated_at": now}])
                seats.append(({"id": str(titled["id"]), "category": category}, share))
            await session.commit()
    finally:
        await db.dispose()
    await asyncio.to_thread(seed.devices_with_titles, url, {"id": str(GROUP), "path": PATHS[GROUP]}, scan, seats,
                            count)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process of this machine has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def report(db: Database, code=service) -> dict:
    """One report of the 50,000 devices' org, timed: wall and CPU seconds of position() (this
    process's CPU and its PostgreSQL backend's, which on a shared machine say more than the wall
    clock), and of orjson's dump."""
    principal = Principal(subject=str(uuid.UUID(int=9)), org_id=ROOT, org_path=PATHS[ROOT], roles=frozenset({"admin"}))
    async with db.session() as session:
        # As the JSON route does: the collector held off until the answer is written and freed.
        with service.collector_paused():
            before = await backends_cpu(session, {})
            started, cpu = time.perf_counter(), time.process_time()
            answer = await code.position(session, OrgDirectory("http://127.0.0.1:9", "unused"), principal, GROUP,
                                         utcnow())
            computed, cpu = time.perf_counter() - started, time.process_time() - cpu
            backend_cpu = sum((await backends_cpu(session, before)).values())
            started = time.perf_counter()
            orjson.dumps(answer, default=str)
            dumped = time.perf_counter() - started
            summary = {"computers": answer["computers"],
                       "office": {k: answer["office"][k] for k in ("genuine", "non_genuine")}}
            del answer
        return {"wall": computed, "python_cpu": cpu, "postgres_cpu": backend_cpu, "orjson": dumped, "answer": summary}


async def backends_cpu(session, before: dict[int, float]) -> dict[int, float]:
    """CPU seconds each backend of the database (the report's session's, and the connections its
    parts ran on) has used since `before` (a backend not in it: since it began)."""
    await session.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # else the transaction's first list
    pids = await session.scalar(sa.text("SELECT array_agg(pid) FROM pg_stat_activity "
                                        "WHERE datname = current_database()"))
    return {pid: cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids if Path(f"/proc/{pid}").exists()}


async def explain(db: Database, code=service) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement of one report, as the report sends them, under
    the planner settings it sets."""
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    await report(db, code)
    sa.event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        async with raw.transaction():
            for statement, parameters in statements:
                if "set_config(" in statement:
                    await raw.fetch(statement, *parameters)
                elif "devices" in statement:
                    plan = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
                    print("-" * 100, statement, *(row[0] for row in plan), sep="\n")


async def main(server: str, runs: int, analyze: bool, show_plans: bool, keep: str | None, titles: int | None,
               other_service: str | None) -> None:
    code = service
    if other_service:
        spec = importlib.util.spec_from_file_location("other_service", other_service)
        code = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(code)
    name = keep or f"zbprobe_{uuid.uuid4().hex[:8]}"
    url = f"{server.rstrip('/')}/{name}"
    admin = await asyncpg.connect(f"{server.rstrip('/')}/postgres")
    seeded = keep and await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    try:
        if not seeded:
            await admin.execute(f'CREATE DATABASE "{name}"')
            started = time.perf_counter()
            await (seed_titles(url, titles) if titles else seed_database(url))
            print(f"seeded {name} in {time.perf_counter() - started:.1f} s")
        if analyze:
            conn = await asyncpg.connect(url)
            await conn.execute("ANALYZE")
            await conn.close()
        db = Database(url, pool_size=3)
        # As `zhengban serve` does once the app is built: without it, the full collections the
        # report's rows trigger walk every imported object, about half the report's Python time.
        gc.collect()
        gc.freeze()
        try:
            for _ in range(runs):
                timed = await report(db, code)
                answer = timed["answer"]
                print(f"position {timed['wall'] * 1000:.0f} ms (CPU: Python {timed['python_cpu'] * 1000:.0f} ms, "
                      f"PostgreSQL {timed['postgres_cpu'] * 1000:.0f} ms), orjson {timed['orjson'] * 1000:.0f} ms; "
                      f"computers {answer['computers']['total']}, office genuine {answer['office']['genuine']}, "
                      f"non-genuine {answer['office']['non_genuine']}; load average {os.getloadavg()[0]:.1f}",
                      flush=True)
            if show_plans:
                await explain(db, code)
        finally:
            await db.dispose()
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after seeding")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each statement")
    parser.add_argument("--keep", metavar="DATABASE",
                        help="seed this database if it does not exist, else reuse it; never drop it")
    parser.add_argument("--titles", type=int, metavar="DEVICES",
                        help="the report with titles of this many computers instead")
    parser.add_argument("--service", metavar="PATH", help="time this copy of compliance/service.py instead")
    args = parser.parse_args()
    asyncio.run(main(args.postgres_url, args.runs, args.analyze, args.explain, args.keep, args.titles,
                     args.service))
