"""Times bulk allocation calls of 10,000 devices with licenses in-process (ASGI client, no gateway):
the request's JSON, its validation, the use-case and the answer (docs/performance.md, "Bulk
allocation, set-based"). Not a test; run from the repository's root:

    ZHENGBAN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432 .venv/bin/python -m tests.bench.bulk_call 3

Each call goes to 10,000 fresh devices of one business pool; the relay publishing a call's events
is awaited before the next. Prints each call's wall and CPU time and the collector's time in it.
`--profile out.prof` writes a cProfile of the last call; BULK_SQL_TIMES=1 prints its statements
that took over 10 ms; BULK_GC_FREEZE=0 leaves out the gc.freeze() that `zhengban serve` makes.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import sys
import time
import uuid

import sqlalchemy as sa
from sqlalchemy import event

from kernel.schema import outbox
from tests.bench.in_process import licenses_in_process
from tests.support.apps import eventually
from zhengban.bench import seed

PREFIX = "/api/v1/licenses"
N = 10_000


async def main(calls: int, profile: str | None):
    async with licenses_in_process() as (svc, tree):
        admin = tree.actor("dept_a", "it_admin")
        body = {"org_id": str(admin.org.id), "product_name": "Bench", "vendor": "v", "category": "business",
                "metric": "device", "quantity": N * calls, "source": "manual", "reference": "r"}
        resp = await svc.client.post(f"{PREFIX}/entitlements", json=body, headers=admin.headers)
        pool_id = resp.json()["pool_id"]
        org = {"id": str(admin.org.id), "path": admin.org.path}
        rows = seed.devices(org, N * calls, tag="B")
        async with svc.db.session() as session:
            await seed.insert(session, seed.Device, rows)
            await session.commit()
            await session.execute(sa.text("ANALYZE"))
            await session.commit()
        gc_time = {"t": 0.0, "n": [0, 0, 0], "start": 0.0}

        def _gc(phase, info):
            if phase == "start":
                gc_time["start"] = time.perf_counter()
            else:
                gc_time["t"] += time.perf_counter() - gc_time["start"]
                gc_time["n"][info["generation"]] += 1
        gc.callbacks.append(_gc)
        if os.environ.get("BULK_GC_FREEZE", "1") == "1":
            gc.collect()
            gc.freeze()
        timings, cpus = [], []
        statements = []
        if os.environ.get("BULK_SQL_TIMES"):
            @event.listens_for(svc.db.engine.sync_engine, "before_cursor_execute")
            def _before(conn, cursor, statement, parameters, context, executemany):
                conn.info["t0"] = time.perf_counter()

            @event.listens_for(svc.db.engine.sync_engine, "after_cursor_execute")
            def _after(conn, cursor, statement, parameters, context, executemany):
                statements.append((time.perf_counter() - conn.info["t0"], executemany, statement[:110]))
        for c in range(calls):
            items = [{"assignee_type": "device", "assignee_id": str(r["id"])} for r in rows[c * N:(c + 1) * N]]
            prof = cProfile.Profile() if profile and c == calls - 1 else None
            gc_time["t"], gc_time["n"] = 0.0, [0, 0, 0]
            started, cpu = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            resp = await svc.client.post(f"{PREFIX}/pools/{pool_id}/allocations:bulk", headers=admin.headers,
                                         json={"items": items}, timeout=120)
            if prof:
                prof.disable()
                prof.dump_stats(profile)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert resp.status_code == 200, resp.text
            answer = resp.json()
            assert answer["allocated"] == N, (answer["allocated"], answer["items"][:3])
            timings.append(elapsed)
            cpus.append(cpu)
            print(f"  gc {gc_time['t']:.3f} s, collections per generation {gc_time['n']}")
            gc_time["t"], gc_time["n"] = 0.0, [0, 0, 0]
            if c == calls - 1:
                for took, many, text in statements:
                    if took > 0.01:
                        print(f"  {took:.3f} {'many' if many else ''} {text!r}")
            statements.clear()
            print(f"call {c}: {elapsed:.3f} s, cpu {cpu:.3f} s", flush=True)
            # The relay publishes the call's events in this process: wait, so calls do not overlap it.
            async def all_published() -> bool:
                async with svc.db.session() as session:
                    return not await session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
                        outbox.c.published_at.is_(None)))

            await eventually(all_published, timeout=120, interval=0.2)
        async with svc.db.session() as session:
            allocated = await session.scalar(sa.text("SELECT allocated FROM pools WHERE id = :id"),
                                             {"id": uuid.UUID(pool_id)})
        assert allocated == N * calls, allocated
        print(os.getcwd(), "wall", " ".join(f"{t:.3f}" for t in timings), "cpu", " ".join(f"{t:.3f}" for t in cpus),
              "load", os.getloadavg()[0])


if __name__ == "__main__":
    args = sys.argv[1:]
    prof = None
    if "--profile" in args:
        i = args.index("--profile")
        prof = args[i + 1]
        del args[i:i + 2]
    asyncio.run(main(int(args[0]) if args else 3, prof))
