"""`zhengban bench`: the real processes under load, each figure next to a baseline from the same run."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from zhengban.bench.rounds import QUICK_ROUNDS, ROUNDS, verdict
from zhengban.bench.stack import BenchStack

SCENARIOS = ("hot_pool", "many_pools", "gateway_overhead", "audit", "order_flow", "scale", "imports", "oversight",
             "inventory_reports")


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
    # Imported here: the scenarios load the services' models, which a refused start need not wait for.
    from zhengban.bench import scenarios

    # Each leg of a ratio runs `seconds` after `warmup` seconds of the same load, `rounds` times.
    seconds = 2 if quick else 15
    warmup = 1 if quick else 3
    rounds = rounds_of(quick)
    # Enough registered devices that no load runs out of new assignees (wrk's rate x its seconds,
    # in each round's share) and the bulk allocation has one per seat.
    world = await asyncio.to_thread(scenarios.World, stack, 20_000 if quick else 100_000)
    print(f"  load generator: {scenarios.generator()}; raw baseline: "
          f"{'pgbench' if scenarios.pgbench.available() else 'asyncpg'}; {rounds} rounds of each ratio", flush=True)
    results = {}
    for name in names:
        print(f"  … {name}", flush=True)
        try:
            results[name] = await run_scenario(world, name, quick, seconds, warmup, rounds)
        except Exception as exc:  # noqa: BLE001 - one scenario's failure is reported; the others still run
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:3000]}
            print(f"    {name} failed: {results[name]['error'][:500]}", flush=True)
    return results


def rounds_of(quick: bool) -> int:
    """The rounds of each ratio: fewer in a quick run (the smoke test's: correctness, not figures)."""
    return QUICK_ROUNDS if quick else ROUNDS


async def run_scenario(world, name: str, quick: bool, seconds: float, warmup: float, rounds: int) -> dict:
    """One scenario at the run's sizes: small with `quick` (the smoke test), the targets' otherwise."""
    from zhengban.bench import scenarios

    legs = {"concurrency": 32, "seconds": seconds, "warmup": warmup, "rounds": rounds}
    runs = {
        "hot_pool": lambda: scenarios.hot_pool(world, **legs),
        "many_pools": lambda: scenarios.many_pools(world, pools=50 if quick else 1000, **legs),
        "gateway_overhead": lambda: scenarios.gateway_overhead(world, **legs),
        "audit": lambda: scenarios.audit(world, **legs),
        "order_flow": lambda: scenarios.order_flow(world, orders=40 if quick else 1000, concurrency=16),
        "scale": lambda: scenarios.scale(world, bulk_seats=20_000 if quick else 100_000,
                                         devices=2_000 if quick else 50_000),
        "imports": lambda: scenarios.imports(world, rows=5_000 if quick else 50_000),
        "oversight": lambda: scenarios.oversight(world, units=2_000),
        "inventory_reports": lambda: scenarios.inventory_reports(world, **{**legs, "concurrency": 16}),
    }
    return await runs[name]()


def met(value: float, target: float, *, at_most: bool = True) -> str:
    """The verdict of a single figure (no rounds) against its target."""
    ok = value <= target if at_most else value >= target
    return f"{'met' if ok else 'MISSED'} ({value / target:.2f} of it)"


def table(results: dict) -> str:
    """Each target next to its same-run baseline; throughput counts the answers expected only; a
    ratio is the median of the rounds, its range beside it. A scenario that failed is named."""
    failed = [f"{name} FAILED: {r['error'][:300]}" for name, r in results.items() if "error" in r]
    results = {name: r for name, r in results.items() if "error" not in r}
    rows = [("scenario", "result/s", "p50 ms", "p99 ms", "baseline/s", "ratio [min–max]", "target", "verdict")]
    for name in ("hot_pool", "many_pools", "gateway_overhead", "audit"):
        if name in results:
            r = results[name]
            base, res = r["baseline"], r["result"]
            rows.append((f"{name} [{res['generator']}]", f"{res['throughput_per_s']:.0f}", f"{res['p50_ms']:.1f}",
                         f"{res['p99_ms']:.1f}",
                         f"{base['throughput_per_s']:.0f} [{base['generator']}]" if base else "n/a",
                         f"{r['ratio']:.2f} [{r['min']:.2f}–{r['max']:.2f}]" if r["ratio"] is not None else "n/a",
                         f"≥ {r['target']}", verdict(r, r["target"])))
    if "order_flow" in results:
        r = results["order_flow"]
        rows.append(("order_flow placement→confirmed", f"{r['orders_confirmed_per_s']:.0f} orders",
                     f"{r['placement_to_confirmation']['p50_ms']:.0f}",
                     f"{r['placement_to_confirmation']['p99_ms']:.0f}", "", "", "", ""))
        p99 = r["delivery_to_seats"]["p99_ms"]
        rows.append(("order_flow delivery→seats", "", f"{r['delivery_to_seats']['p50_ms']:.0f}", f"{p99:.0f}",
                     "", "", "p99 ≤ 1000 ms", met(p99, 1000)))
        rows.append(("order_flow delivery→event", "", f"{r['delivery_to_event']['p50_ms']:.0f}",
                     f"{r['delivery_to_event']['p99_ms']:.0f}", "", "", "", ""))
        rows.append(("order_flow delivery request", "", f"{r['delivering']['p50_ms']:.0f}",
                     f"{r['delivering']['p99_ms']:.0f}", "", "", "", ""))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    for name in ("hot_pool", "many_pools"):
        if name in results and results[name].get("cpu_ms_per_allocation"):
            cpu = ", ".join(f"{k} {v}" for k, v in sorted(results[name]["cpu_ms_per_allocation"].items()))
            lines.append(f"CPU ms per allocation ({name}, median of the rounds): {cpu}")
    if "hot_pool" in results:
        h = results["hot_pool"]
        lines.append(f"hot pool: mean batch {h.get('mean_batch')}; exactly-k check: {h['burst']['statuses']} "
                     f"for 50 seats, pool allocated {h['small_pool_allocated']}, batches {h['burst_batched']}")
    if "audit" in results and results["audit"]["hot_pool_cost"] is not None:
        a = results["audit"]
        cost = a["cost"]
        lines.append(f"audit log's cost on the hot pool: {a['hot_pool_cost']:.1%} "
                     f"[{cost['min']:.1%}–{cost['max']:.1%}] (target ≤ 5 %: {verdict(cost, 0.05, at_most=True)}); "
                     f"every write logged: {a['every_write_logged']}, none when off: {a['nothing_logged_when_off']}")
    if "scale" in results:
        s = results["scale"]
        bulk, report, titled = s["bulk_seats_per_s"], s["compliance_ms"], s["compliance_titles_ms"]
        lines += ["", f"1,000,000-seat entitlement: {s['million_seat_entitlement_ms']} ms",
                  f"bulk allocation of {s['bulk_seats']:,} seats: {s['bulk_seconds']} s "
                  f"({s['bulk_seats_per_s']:.0f}/s; target ≥ 20,000/s: {met(bulk, 20_000, at_most=False)})",
                  f"compliance report, {s['compliance_devices']:,} devices: {s['compliance_ms']} ms "
                  f"(target ≤ 500 ms: {met(report, 500)}); straight to licenses {s['compliance_direct_ms']} ms",
                  f"compliance report with titles, {s['compliance_titles_devices']:,} devices, ten entries each: "
                  f"{titled} ms (target ≤ 1000 ms: {met(titled, 1000)}); straight to licenses "
                  f"{s['compliance_titles_direct_ms']} ms",
                  f"RSS after load (MB): {s['rss_mb']}"]
    if "imports" in results:
        i = results["imports"]
        quiet = i["allocation_quiet"]
        lines += ["", f"detection-tool import, {i['inventory_rows']:,} rows ({i['inventory_bytes'] / 1e6:.1f} MB CSV): "
                  f"{i['inventory_seconds']} s, {i['inventory_rows_per_s']:.0f} rows/s (target < 30 s for 50,000: "
                  f"{met(i['inventory_seconds'] * 50_000 / i['inventory_rows'], 30)} scaled to 50,000); "
                  f"{i['inventory_ok']:,} ok, {i['inventory_errors']:,} errors; licenses RSS "
                  f"{i['inventory_rss_before_mb']} → peak {i['inventory_peak_rss_mb']} MB",
                  f"device import, {i['devices_rows']:,} rows ({i['devices_bytes'] / 1e6:.1f} MB XLSX): "
                  f"{i['devices_seconds']} s, {i['devices_rows_per_s']:.0f} rows/s (target < 30 s for 50,000: "
                  f"{met(i['devices_seconds'] * 50_000 / i['devices_rows'], 30)} scaled to 50,000); "
                  f"{i['devices_created']:,} created; licenses RSS {i['devices_rss_before_mb']} → peak "
                  f"{i['devices_peak_rss_mb']} MB",
                  f"licenses peak RSS during the imports: {i['peak_rss_mb']} MB (target < 300 MB: "
                  f"{met(i['peak_rss_mb'], 300)})",
                  f"an allocation's p99 while an import runs: {i['allocation_p99_ms']} ms (target < 1000 ms: "
                  f"{met(i['allocation_p99_ms'], 1000)}); without an import {quiet['p99_ms']} ms"]
    if "inventory_reports" in results:
        r = results["inventory_reports"]
        rates, cpu = r["reports_per_s"], ", ".join(f"{k} {v}" for k, v in sorted(r["cpu_ms_per_report"].items()))
        lines += ["", f"inventory reports ({r['items_per_report']} programs each), one computer per request: "
                  f"{rates['median']:.0f}/s [{rates['min']:.0f}–{rates['max']:.0f}]; CPU ms per report: {cpu}"]
    if "oversight" in results:
        o = results["oversight"]
        lines += ["", f"annual-report roll-up of {o['reports']:,} units: {o['rollup_ms']} ms "
                  f"[{o['rollup']['min']:.0f}–{o['rollup']['max']:.0f}] "
                  f"(target ≤ 1000 ms: {met(o['rollup_ms'], 1000)})"]
    return "\n".join(lines + ([""] + failed if failed else []))


def commit() -> str | None:
    """The checkout's commit, when the bench runs from one (the docs name the commit of their figures)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() + ("-dirty" if dirty else "")) if done.returncode == 0 else None


def main(names: list[str], *, quick: bool, json_path: str, database: str, postgres_url: str,
         replicas: int = 1) -> dict:
    use_postgres = database == "postgres" or (database == "auto" and postgres_available(postgres_url))
    stack = BenchStack(postgres_url if use_postgres else None, replicas=replicas)
    print(f"zhengban bench: {'PostgreSQL' if use_postgres else 'SQLite'}, {'quick' if quick else 'full'} run, "
          f"{os.cpu_count()} CPUs, {replicas} replica(s) per service; starting the processes …", flush=True)
    started = time.time()
    load_before = os.getloadavg()
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        last = [line for line in str(exc).splitlines() if line.strip()][-1:] or ["no output"]
        sys.exit(f"zhengban bench: the processes did not start ({last[0][:300]}); "
                 f"see {stack.data_dir / 'up.out'}, or try --database sqlite")
    try:
        results = asyncio.run(run_scenarios(stack, names, quick))
    except BaseException:
        stack.stop()
        print(f"zhengban bench: the processes' logs are kept in {stack.data_dir}", file=sys.stderr)
        raise
    stack.stop()
    document = {"started": started, "finished": time.time(), "commit": commit(),
                "database": "postgresql" if use_postgres else "sqlite", "quick": quick, "replicas": replicas,
                "rounds": rounds_of(quick),
                # Other work on the machine moves every figure: the load average at both ends.
                "load_average": {"start": [round(x, 2) for x in load_before],
                                 "end": [round(x, 2) for x in os.getloadavg()]},
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
                "results": results, "failed_checks": failed_checks(results)}
    Path(json_path).write_text(json.dumps(document, indent=2, ensure_ascii=False))
    if document["failed_checks"]:  # the logs may tell why
        print(f"zhengban bench: the processes' logs are kept in {stack.data_dir}", file=sys.stderr)
    else:
        stack.remove()
    print()
    print(table(results))
    print(f"\n  correctness: {'; '.join(document['failed_checks']) or 'every check held'}")
    print(f"  JSON: {json_path}")
    if document["failed_checks"]:
        sys.exit(1)  # a fast wrong answer is no figure: the run fails, quick or full
    return document


def failed_checks(results: dict) -> list[str]:
    """The correctness checks of every run (not only the smoke test's): what failed, if anything."""
    checks = [(f"{name} ran to its end", False) for name, r in results.items() if "error" in r]
    results = {name: r for name, r in results.items() if "error" not in r}
    if "hot_pool" in results:
        h = results["hot_pool"]
        checks += [("hot pool: nothing over-allocated", h["over_allocated"] == 0),
                   ("hot pool: the counter equals the rows", h["counter_matches_rows"]),
                   ("hot pool: the counter accounts for the 201s", h["counter_accounts_for_successes"]),
                   ("hot pool: exactly 50 of 200 win a 50-seat pool", h["small_pool_allocated"] == 50
                    and h["burst"]["statuses"] == {"201": 50, "409": 150})]
    if "scale" in results:
        s = results["scale"]
        checks.append(("bulk: every seat allocated, the counter says so", s["bulk_pool_allocated"] == s["bulk_seats"]))
    if "audit" in results:
        a = results["audit"]
        checks += [("audit: every write logged", a["every_write_logged"]),
                   ("audit: nothing logged when off", a["nothing_logged_when_off"])]
    if "imports" in results:
        i = results["imports"]
        checks += [("imports: every inventory row ok", i["inventory_ok"] == i["inventory_rows"]),
                   ("imports: every device created", i["devices_created"] == i["devices_rows"])]
    if "oversight" in results:
        checks.append(("roll-up: every unit counted", results["oversight"]["reports"] == results["oversight"]["units"]))
    return [name for name, held in checks if not held]
