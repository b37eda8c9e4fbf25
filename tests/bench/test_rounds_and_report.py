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


async def test_a_round_without_a_ratio_is_left_out_of_the_figures():
    ratios = iter([None, 0.4, 0.6])

    async def one_round(n: int) -> dict:
        return {"ratio": next(ratios), "target": 0.5}

    figures = await repeated(one_round, 3)
    assert (figures["min"], figures["median"], figures["max"], figures["rounds_without_ratio"]) == (0.4, 0.5, 0.6, 1)


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


def test_the_capacity_model_is_computed_from_the_measured_costs(tmp_path):
    from zhengban.bench import capacity

    def run(replicas: int, licenses_ms: float) -> dict:
        leg = {"throughput_per_s": 100.0 * replicas}
        return {"started": 1_796_400_000, "commit": "abc1234", "replicas": replicas,
                "load_average": {"start": [2.0], "end": [3.0]},
                "results": {"inventory_reports": {"cpu_ms_per_report": {"licenses": 10.0, "postgres": 2.0},
                                                  "items_per_report": 60, "bytes_per_report": {"licenses": 10_000}},
                            "many_pools": {"result": leg, "cpu_ms_per_allocation": {"licenses": licenses_ms}},
                            "hot_pool": {"result": leg, "cpu_ms_per_allocation": {"licenses": licenses_ms}},
                            "scale": {"cpu_ms_per_bulk_seat": {"licenses": 0.1}}}}

    full = run(1, 4.0)
    peak = capacity.rates()["inventory_reports"]
    assert round(peak) == 521  # 5 million a working day of 8 hours, the busiest hour three times the mean
    # licenses: 521 reports/s × 10 ms, plus the bulk seats × 0.1 ms, at 60 % busy.
    expected = (peak * 10.0 + capacity.rates()["seats_bulk"] * 0.1) / 1000 / capacity.UTILISATION
    assert capacity.cores(full["results"])["licenses"] == pytest.approx(expected)
    page = tmp_path / "scale.md"
    page.write_text(f"# Scale\n{capacity.START}\n{capacity.END}\n")
    (tmp_path / "full.json").write_text(json.dumps(full))
    (tmp_path / "two.json").write_text(json.dumps(run(2, 5.0)))
    capacity.main([str(tmp_path / "full.json"), str(tmp_path / "two.json"), "--write", str(page)])
    text = page.read_text()
    assert "**50 GB a working day**" in text  # 10,000 bytes × 5 million reports
    assert "| 2 | 200 | 5.00 | 200 | 5.00 |" in text
