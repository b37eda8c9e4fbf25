"""`zhengban bench`: the real processes under load, each figure next to a baseline from the same run."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

from zhengban.bench import scenarios
from zhengban.bench.stack import BenchStack

SCENARIOS = ("hot_pool", "many_pools", "gateway_overhead", "order_flow", "scale")


def postgres_available(url: str) -> bool:
    import asyncpg

    async def probe():
        conn = await asyncio.wait_for(asyncpg.connect(f"{url.rstrip('/')}/postgres"), 3)
        await conn.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:  # noqa: BLE001 - no server: the benchmark says so and uses SQLite
        return False


async def run_scenarios(stack: BenchStack, names: list[str], quick: bool) -> dict:
    world = await asyncio.to_thread(scenarios.World, stack)
    seconds = 3 if quick else 15
    results = {}
    for name in names:
        print(f"  … {name}", flush=True)
        if name == "hot_pool":
            results[name] = await scenarios.hot_pool(world, concurrency=32, seconds=seconds)
        elif name == "many_pools":
            results[name] = await scenarios.many_pools(world, pools=50 if quick else 1000, concurrency=32,
                                                       seconds=seconds)
        elif name == "gateway_overhead":
            results[name] = await scenarios.gateway_overhead(world, concurrency=32, seconds=seconds)
        elif name == "order_flow":
            results[name] = await scenarios.order_flow(world, orders=40 if quick else 1000, concurrency=16)
        elif name == "scale":
            results[name] = await scenarios.scale(world, bulk_seats=20_000 if quick else 100_000,
                                                  devices=2_000 if quick else 50_000)
    return results


def table(results: dict) -> str:
    rows = [("scenario", "throughput/s", "p50 ms", "p99 ms", "baseline/s", "ratio", "target")]
    for name in ("hot_pool", "many_pools", "gateway_overhead"):
        if name in results:
            r = results[name]
            base = r["baseline"]
            rows.append((name, f"{r['result']['throughput_per_s']:.0f}", f"{r['result']['p50_ms']:.1f}",
                         f"{r['result']['p99_ms']:.1f}", f"{base['throughput_per_s']:.0f}" if base else "n/a",
                         f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a", f"≥ {r['target']}"))
    if "order_flow" in results:
        r = results["order_flow"]
        rows.append(("order_flow", f"{r['orders_confirmed_per_s']:.0f} orders",
                     f"{r['placement_to_confirmation']['p50_ms']:.0f}",
                     f"{r['placement_to_confirmation']['p99_ms']:.0f}", "", "", "→ confirmed"))
        rows.append(("", "", f"{r['delivery_to_seats']['p50_ms']:.0f}", f"{r['delivery_to_seats']['p99_ms']:.0f}",
                     "", "", "→ seats"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    if "scale" in results:
        s = results["scale"]
        lines += ["", f"1,000,000-seat entitlement: {s['million_seat_entitlement_ms']} ms",
                  f"bulk allocation of {s['bulk_seats']:,} seats: {s['bulk_seconds']} s "
                  f"({s['bulk_seats_per_s']:.0f}/s)",
                  f"compliance report, {s['compliance_devices']:,} devices: {s['compliance_ms']} ms",
                  f"RSS after load (MB): {s['rss_mb']}"]
    return "\n".join(lines)


def main(names: list[str], *, quick: bool, json_path: str, database: str, postgres_url: str) -> dict:
    use_postgres = database == "postgres" or (database == "auto" and postgres_available(postgres_url))
    stack = BenchStack(postgres_url if use_postgres else None)
    print(f"zhengban bench: {'PostgreSQL' if use_postgres else 'SQLite'}, {'quick' if quick else 'full'} run, "
          f"{os.cpu_count()} CPUs; starting the processes …", flush=True)
    started = time.time()
    stack.start()
    try:
        results = asyncio.run(run_scenarios(stack, names, quick))
    finally:
        stack.stop()
    document = {"started": started, "database": "postgresql" if use_postgres else "sqlite", "quick": quick,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
                "results": results}
    Path(json_path).write_text(json.dumps(document, indent=2, ensure_ascii=False))
    print()
    print(table(results))
    print(f"\n  JSON: {json_path}")
    return document
