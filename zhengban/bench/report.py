"""docs/performance.md's tables, written from the bench's JSON rather than by hand:

    python -m zhengban.bench.report bench-results.json                 # prints the Markdown
    python -m zhengban.bench.report bench-results.json replicas-2.json --write docs/performance.md

The first file is the full run; any further ones (the same scenarios from the Python client, or
with `--replicas 2`) add a table of their throughput and CPU per allocation beside the first's.
`--write` replaces what lies between the page's `<!-- bench-report:start -->` and
`<!-- bench-report:end -->` markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from zhengban.bench import met
from zhengban.bench.rounds import verdict

START, END = "<!-- bench-report:start -->", "<!-- bench-report:end -->"
RATIOS = {"hot_pool": "Hot pool: 32 connections allocating from one pool via the gateway",
          "many_pools": "Many pools: allocations spread over the pools via the gateway",
          "gateway_overhead": "Gateway overhead: allocations over 100 pools",
          "audit": "Audit log: the hot pool with the log on"}


def when(document: dict) -> str:
    return datetime.fromtimestamp(document["started"], UTC).strftime("%Y-%m-%d %H:%M UTC")


def heading(document: dict) -> str:
    load = document.get("load_average") or {}
    start, end = (load.get("start") or [None])[0], (load.get("end") or [None])[0]
    return (f"## The figures ({when(document)}, {'quick' if document['quick'] else 'full'} run, "
            f"{'PostgreSQL' if document['database'] == 'postgresql' else 'SQLite'}, at commit "
            f"{document.get('commit') or 'unknown'}; load average {start} at the start, {end} at the end)")


def leg(summary: dict | None) -> str:
    if not summary:
        return "n/a"
    return (f"{summary['throughput_per_s']:,.0f}/s, p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms "
            f"[{summary['generator']}]")


def ratio_table(results: dict) -> list[str]:
    lines = ["| Scenario | Result (median round) | Baseline (same round) | Ratio: median [min–max] of "
             "the rounds | Target | Verdict |", "|---|---|---|---|---|---|"]
    for name, title in RATIOS.items():
        if name not in results:
            continue
        r = results[name]
        baseline = leg(r["baseline"])
        if name == "hot_pool" and r.get("baselines"):
            baseline = "raw transaction " + baseline.replace("[", "(faster order) [", 1)
        elif name == "many_pools":
            baseline = f"trivial proxied GET {baseline}"
        elif name == "gateway_overhead":
            baseline = f"straight to licenses {baseline}"
        elif name == "audit":
            baseline = f"a second gateway, log off: {baseline}"
        figures = (f"**{r['ratio']:.2f}** [{r['min']:.2f}–{r['max']:.2f}]" if r.get("ratio") is not None else "n/a")
        lines.append(f"| {title} | {leg(r['result'])} | {baseline} | {figures} | ≥ {r['target']} | "
                     f"{verdict(r, r['target'])} |")
    return lines


def figure_table(results: dict) -> list[str]:
    """The figures without a baseline, each beside its target."""
    rows = []
    if "order_flow" in results:
        o = results["order_flow"]
        p99 = o["delivery_to_seats"]["p99_ms"]
        rows.append(("`order_flow`: delivery → seats in the pool, p99", f"{p99:,.0f} ms (p50 "
                     f"{o['delivery_to_seats']['p50_ms']:,.0f} ms; {o['orders_confirmed_per_s']} orders/s)",
                     "≤ 1,000 ms", met(p99, 1000)))
    if "scale" in results:
        s = results["scale"]
        rows += [(f"`scale.bulk_seats_per_s`: bulk allocation of {s['bulk_seats']:,} seats",
                  f"{s['bulk_seats_per_s']:,.0f} seats/s ({s['bulk_seconds']} s)", "≥ 20,000/s",
                  met(s["bulk_seats_per_s"], 20_000, at_most=False)),
                 (f"`scale.compliance_ms`: compliance report, {s['compliance_devices']:,} devices",
                  f"{s['compliance_ms']:,.0f} ms (straight to licenses {s['compliance_direct_ms']:,.0f} ms)",
                  "≤ 500 ms", met(s["compliance_ms"], 500)),
                 (f"`scale.compliance_titles_ms`: with titles, {s['compliance_titles_devices']:,} devices",
                  f"{s['compliance_titles_ms']:,.0f} ms "
                  f"(straight to licenses {s['compliance_titles_direct_ms']:,.0f} ms)",
                  "≤ 1,000 ms", met(s["compliance_titles_ms"], 1000))]
    if "imports" in results:
        i = results["imports"]
        rows += [(f"`imports.inventory_rows_per_s`: detection-tool import, {i['inventory_rows']:,} rows (CSV)",
                  f"{i['inventory_rows_per_s']:,.0f} rows/s ({i['inventory_seconds']} s)", "50,000 rows < 30 s",
                  met(i["inventory_seconds"] * 50_000 / i["inventory_rows"], 30)),
                 (f"`imports.devices_rows_per_s`: device import, {i['devices_rows']:,} rows (XLSX)",
                  f"{i['devices_rows_per_s']:,.0f} rows/s ({i['devices_seconds']} s)", "50,000 rows < 30 s",
                  met(i["devices_seconds"] * 50_000 / i["devices_rows"], 30)),
                 ("`imports.peak_rss_mb`: licenses' peak RSS during the imports",
                  f"{i['peak_rss_mb']} MB (before: {i.get('inventory_rss_before_mb')} MB; inventory's peak "
                  f"{i['inventory_peak_rss_mb']}, devices' {i['devices_peak_rss_mb']}, from "
                  f"{i.get('devices_rss_before_mb')})", "< 300 MB", met(i["peak_rss_mb"], 300)),
                 ("`imports.allocation_p99_ms`: an allocation's p99 while an import runs",
                  f"{i['allocation_p99_ms']:,.0f} ms (during the inventory import "
                  f"{i['inventory_allocations']['p99_ms']:,.0f}, the device import "
                  f"{i['devices_allocations']['p99_ms']:,.0f}; no import: {i['allocation_quiet']['p99_ms']:,.0f} ms)",
                  "< 1,000 ms", met(i["allocation_p99_ms"], 1000))]
    if "oversight" in results:
        o = results["oversight"]
        rows.append((f"`oversight.rollup_ms`: annual-report roll-up of {o['reports']:,} units",
                     f"{o['rollup_ms']:,.0f} ms [{o['rollup']['min']:,.0f}–{o['rollup']['max']:,.0f}]",
                     "≤ 1,000 ms", met(o["rollup_ms"], 1000)))
    if "audit" in results and results["audit"]["hot_pool_cost"] is not None:
        a = results["audit"]
        rows.append(("`audit.hot_pool_cost`: 1 − with/without the audit log, hot pool",
                     f"{a['hot_pool_cost']:.1%} [{a['cost']['min']:.1%}–{a['cost']['max']:.1%}]", "≤ 5 %",
                     verdict(a["cost"], 0.05, at_most=True)))
    if not rows:
        return []
    return ["| Figure (JSON key) | Measured | Target | Verdict |", "|---|---|---|---|",
            *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)]


def cpu_lines(results: dict) -> list[str]:
    lines = []
    for name in ("hot_pool", "many_pools"):
        cpu = (results.get(name) or {}).get("cpu_ms_per_allocation")
        if cpu:
            lines.append(f"CPU ms per allocation, {name.replace('_', ' ')} (median of the rounds): "
                         + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items())) + ".")
    return lines


def runs_table(documents: list[dict]) -> list[str]:
    """The hot pool and many pools in each run: its load generator, processes per service,
    throughput, ratio and licenses' CPU per allocation (a cross-check with another generator, or
    the same loads with more replicas)."""
    lines = ["| Run | Generator | Replicas | Hot pool /s, ratio [min–max] | licenses CPU ms/allocation | "
             "Many pools /s, ratio [min–max] | licenses CPU ms/allocation |", "|---|---|---|---|---|---|---|"]
    for document in documents:
        cells, generator = [], ""
        for name in ("hot_pool", "many_pools"):
            r = document["results"].get(name)
            if not r or "error" in r:
                cells += ["n/a", "n/a"]
                continue
            generator = r["result"]["generator"]
            ratio = f", {r['ratio']:.2f} [{r['min']:.2f}–{r['max']:.2f}]" if r.get("ratio") is not None else ""
            cells += [f"{r['result']['throughput_per_s']:,.0f}{ratio}",
                      str(r.get("cpu_ms_per_allocation", {}).get("licenses", "n/a"))]
        load = (document.get("load_average") or {}).get("start", ["?"])[0]
        lines.append(f"| {when(document)}, {document.get('commit')}, load {load} | {generator} | "
                     f"{document.get('replicas', 1)} | " + " | ".join(cells) + " |")
    return lines


def render(documents: list[dict]) -> str:
    main = documents[0]
    results = {name: r for name, r in main["results"].items() if "error" not in r}
    parts = [heading(main), "",
             "Generated by `python -m zhengban.bench.report` from the JSON of `zhengban bench"
             f"{' --quick' if main['quick'] else ''} --database postgres --json out.json`; every ratio is the "
             f"median of {main.get('rounds', 1)} rounds, product and baseline alternating, its range in brackets; "
             "\"within noise\" when the rounds fall on both sides of the target.", "",
             *ratio_table(results), ""]
    figures = figure_table(results)
    if figures:
        parts += [*figures, ""]
    parts += cpu_lines(results)
    failed = {name: r["error"] for name, r in main["results"].items() if "error" in r}
    if failed:
        parts += ["", "Failed in this run (no figure): " + "; ".join(
            f"`{name}` ({error.splitlines()[0][:200]})" for name, error in failed.items()) + "."]
    if main.get("failed_checks"):
        parts += ["", "Correctness checks that failed: " + "; ".join(main["failed_checks"]) + "."]
    if len(documents) > 1:
        parts += ["", "The same loads in the other runs of the day (another load generator, or more processes per "
                  "service), the full run first:", "", *runs_table(documents)]
    return "\n".join(parts).rstrip() + "\n"


def write(page: Path | None, text: str, start: str = START, end: str = END) -> None:
    """Replaces what lies between the page's `start` and `end` markers with `text`; prints `text`
    instead when no page is given."""
    if page is None:
        print(text, end="")
        return
    current = page.read_text()
    if start not in current or end not in current:
        sys.exit(f"{page}: no {start} … {end} markers to write between")
    before, rest = current.split(start, 1)
    page.write_text(f"{before}{start}\n{text}{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zhengban.bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="the bench's JSON: the full run first, then other runs to compare")
    parser.add_argument("--write", type=Path, help="the page whose bench-report block to replace")
    args = parser.parse_args(argv)
    write(args.write, render([json.loads(Path(p).read_text()) for p in args.json]))


if __name__ == "__main__":
    main()
