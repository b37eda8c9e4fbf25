"""Times one 50,000-row device import (XLSX) with licenses in-process on PostgreSQL, and how long
the import holds the event loop at once: the profile behind the bench's "an allocation's p99
while an import runs" (docs/performance.md). Not a test; run from the repository's root:

    ZHENGBAN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432 .venv/bin/python -m tests.bench.import_call

A ticker wakes every 10 ms while the import runs and notes the gaps between its wakes: a gap is
time the loop could serve no other request. Prints the stalls over 200 ms and the profile's top.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time

from tests.bench.in_process import licenses_in_process
from zhengban.bench.scenarios import XLSX, devices_workbook


async def main(rows: int) -> None:
    async with licenses_in_process() as (svc, tree):
        admin = tree.actor("dept_a", "it_admin")
        book = devices_workbook(rows)
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        resp = await svc.client.post("/api/v1/licenses/devices:import", params={"org_id": str(admin.org.id)},
                                     headers=admin.headers, files={"file": ("devices.xlsx", book, XLSX)},
                                     timeout=600)
        profile.disable()
        done.set()
        await ticking
        assert resp.status_code == 200, resp.text[:500]
        print(f"{rows:,} rows: {time.perf_counter() - started:.2f} s, {resp.json()}; the loop's stalls over "
              f"200 ms: {sorted((round(g * 1000) for g in gaps if g > 0.2), reverse=True)} ms")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
