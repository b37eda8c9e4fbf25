"""The bench's honest figures: a ratio is the median of its rounds with its range, a verdict says
"within noise" when the rounds straddle the target, and docs/performance.md's tables are written
from the JSON."""

from __future__ import annotations

import json

import pytest

from zhengban.bench import report
from zhengban.bench.rounds import repeated, verdict


async def test_the_ratio_is_the_median_round_with_the_range_beside_it():
    ratios = iter([0.9, 0.4, 0.6])

    async def one_round(n: int) -> dict:
        return {"ratio": next(ratios), "result": {"round": n}, "target": 0.5}

    figures = await repeated(one_round, 3)
    assert (figures["min"], figures["median"], figures["max"], figures["ratio"]) == (0.4, 0.6, 0.9, 0.6)
    assert figures["result"] == {"round": 2}  # the median round's own legs
    assert [r["ratio"] for r in figures["rounds"]] == [0.9, 0.4, 0.6]


@pytest.mark.parametrize(("low", "median", "high", "expected"), [
    (0.6, 0.7, 0.8, "met"), (0.2, 0.3, 0.4, "MISSED"),
    (0.4, 0.6, 0.9, "within noise (met at the median)"), (0.3, 0.4, 0.9, "within noise (missed at the median)")])
def test_a_verdict_reads_the_median_and_says_when_the_rounds_straddle_the_target(low, median, high, expected):
    assert verdict({"min": low, "median": median, "max": high}, 0.5) == expected


def test_a_cost_is_met_below_its_target():
    assert verdict({"min": 0.01, "median": 0.02, "max": 0.04}, 0.05, at_most=True) == "met"
    assert verdict({"min": -0.02, "median": 0.03, "max": 0.08}, 0.05, at_most=True).startswith("within noise (met")


def test_the_page_gets_the_tables_between_its_markers(tmp_path):
    leg = {"throughput_per_s": 500.0, "p50_ms": 40.0, "p99_ms": 90.0, "generator": "wrk"}
    document = {"started": 1_796_400_000, "quick": False, "database": "postgresql", "commit": "abc1234", "rounds": 3,
                "replicas": 1, "load_average": {"start": [3.5, 3, 3], "end": [6.25, 5, 4]},
                "results": {"many_pools": {"result": leg, "baseline": {**leg, "throughput_per_s": 800.0},
                                           "ratio": 0.62, "min": 0.48, "median": 0.62, "max": 0.7, "target": 0.5,
                                           "cpu_ms_per_allocation": {"licenses": 1.5}},
                            "oversight": {"reports": 2000, "rollup_ms": 420.0,
                                          "rollup": {"min": 400.0, "median": 420.0, "max": 700.0}}}}
    path = tmp_path / "out.json"
    path.write_text(json.dumps(document))
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\n{report.START}\nold tables\n{report.END}\n\n## Earlier\n")
    report.main([str(path), "--write", str(page)])
    text = page.read_text()
    assert "old tables" not in text and text.endswith("## Earlier\n")
    assert "at commit abc1234; load average 3.5 at the start, 6.25 at the end" in text
    assert "| **0.62** [0.48–0.70] | ≥ 0.5 | within noise (met at the median) |" in text
    assert "| `oversight.rollup_ms`: annual-report roll-up of 2,000 units | 420 ms [400–700] | ≤ 1,000 ms | met" in text
    assert "CPU ms per allocation, many pools (median of the rounds): licenses 1.5." in text
