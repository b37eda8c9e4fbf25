"""`zhengban bench --quick` runs every scenario end to end (correctness only, no timing assertions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.databases import TEST_DATABASE_URL
from zhengban.bench.rounds import QUICK_ROUNDS

pytestmark = pytest.mark.slow


def test_every_scenario_runs_and_nothing_is_over_allocated(tmp_path):
    out = tmp_path / "bench.json"
    database = ["--database", "postgres", "--postgres-url", TEST_DATABASE_URL] if TEST_DATABASE_URL else [
        "--database", "sqlite"]
    scratch = tmp_path / "tmp"  # where the run makes its folder (logs, NATS's storage, SQLite's files)
    scratch.mkdir()
    done = subprocess.run([sys.executable, "-m", "zhengban", "bench", "--quick", "--json", str(out), *database],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(scratch.glob("zhengban-bench-*")) == []  # a run that passed leaves no folder behind
    document = json.loads(out.read_text())
    assert document["failed_checks"] == [] and document["rounds"] == QUICK_ROUNDS == 2
    results = document["results"]
    assert set(results) == {"hot_pool", "many_pools", "gateway_overhead", "audit", "order_flow", "scale", "imports",
                            "oversight", "inventory_reports"}
    # Every ratio is the median of its rounds (two in a quick run), its range beside it. (On a
    # saturated machine a two-second leg can end before any answer: that round has no ratio, and says so.)
    for name in ("many_pools", "gateway_overhead", "audit") + (("hot_pool",) if TEST_DATABASE_URL else ()):
        figures = results[name]
        assert len(figures["rounds"]) == QUICK_ROUNDS, name
        measured = [r["ratio"] for r in figures["rounds"] if r["ratio"] is not None]
        assert figures["rounds_without_ratio"] == QUICK_ROUNDS - len(measured), name
        if measured:
            assert figures["min"] <= figures["median"] == figures["ratio"] <= figures["max"], name
    hot = results["hot_pool"]
    assert hot["over_allocated"] == 0 and hot["counter_matches_rows"] and hot["counter_accounts_for_successes"]
    assert hot["small_pool_allocated"] == 50 and hot["burst"]["statuses"] == {"201": 50, "409": 150}
    assert hot["burst"]["problems"] == ["no-seats-available"]
    # The 200 went through the group commit, and some of them shared a transaction.
    assert hot["burst_batched"]["requests"] == 200 and hot["burst_batched"]["batches"] < 200
    assert hot["result"]["ok"] == hot["result"]["statuses"].get("201", 0) and hot["result"]["unexpected"] == 0
    assert hot["result"]["generator"] == ("wrk" if shutil.which("wrk") else "python")
    assert hot["cpu_ms_per_allocation"]["licenses"] > 0
    if TEST_DATABASE_URL:  # the database's own backends are counted beside the processes
        assert hot["cpu_ms_per_allocation"]["postgres"] > 0
    assert (hot["baseline"] is not None) == bool(TEST_DATABASE_URL)
    for name in ("many_pools", "gateway_overhead", "audit"):
        rounds = results[name]["rounds"]
        assert any(r["result"]["requests"] for r in rounds) and any(r["baseline"]["requests"] for r in rounds), name
        assert all(r["result"]["errors"] == 0 and r["result"]["unexpected"] == 0 for r in rounds), name
    flow = results["order_flow"]
    assert flow["placing"]["statuses"] == {"202": 40} and flow["delivering"]["statuses"] == {"200": 40}
    scale = results["scale"]
    assert scale["million_seat_pool_total"] == 1_000_000
    assert scale["bulk_pool_allocated"] == scale["bulk_seats"]
    assert scale["compliance_devices"] == 2_000 and scale["compliance_office"] == {"genuine": 1_000,
                                                                                 "non_genuine": 1_000}
    assert set(scale["rss_mb"]) >= {"gateway", "budget", "procurement", "licenses"}
    assert scale["compliance_titles_devices"] == 2_000 and scale["compliance_titles_ms"] > 0
    assert scale["compliance_titles_direct_ms"] > 0
    imported = results["imports"]
    assert imported["inventory_rows"] == 5_000 and imported["inventory_ok"] == 5_000
    assert imported["inventory_rows_per_s"] > 0 and imported["peak_rss_mb"] > 0
    assert imported["devices_created"] == 5_000 and imported["devices_rows_per_s"] > 0
    for during in ("inventory_allocations", "devices_allocations"):
        assert imported[during]["ok"] > 0 and imported[during]["unexpected"] == 0, imported[during]
    audit = results["audit"]
    assert audit["every_write_logged"] and audit["nothing_logged_when_off"]
    assert audit["hot_pool_cost"] == round(1 - audit["median"], 3)
    oversight = results["oversight"]
    assert oversight["reports"] == 2_000 and oversight["rollup_ms"] > 0
    # Each unit's report counts its 200 computers, and the titles of its inventory are summed.
    assert oversight["computers"] == 2_000 * 200 and oversight["titles"] > 0
    reports = results["inventory_reports"]
    assert reports["result"]["ok"] > 0 and reports["result"]["unexpected"] == 0
    assert len(reports["rounds"]) == QUICK_ROUNDS
    assert reports["cpu_ms_per_report"]["licenses"] > 0 and reports["items_per_report"] == 60
