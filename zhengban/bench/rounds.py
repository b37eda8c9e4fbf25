"""Every ratio three times: the product and its baseline alternate (product, baseline, product, …),
each leg after its own warm-up, and a figure is the median of the rounds with its range beside it.

One round on a shared machine can land on another engineer's test run; three rounds show how much
that moved the figure. A verdict reads the median, and says "within noise" when the range of the
rounds straddles the target: the run cannot tell met from missed there."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable

ROUNDS = 3
# A quick run's (the suite's smoke test): two rounds still have a median between a minimum and a
# maximum, at two thirds of the time.
QUICK_ROUNDS = 2


def spread(values: list[float]) -> dict[str, float]:
    """min, median and max of `values` (at least one)."""
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


async def repeated(measure: Callable[[int], Awaitable[dict]], rounds: int = ROUNDS) -> dict:
    """Runs `measure(n)` for n in 0 … rounds - 1, one after the other; each is one round (the product
    then its baseline) and returns a dict with its `ratio`. Returns the median round's dict (its
    `result` and `baseline` are what the table shows) with `ratio` the median of the rounds, `min`,
    `median` and `max` beside it, and every round in `rounds`."""
    done = [await measure(n) for n in range(rounds)]
    ratios = [d["ratio"] for d in done]
    # A round has no ratio when its baseline answered nothing expected (a leg squeezed to nothing
    # on a loaded machine), and none has one without a baseline (SQLite: no raw PostgreSQL figure).
    measured = [n for n in range(rounds) if ratios[n] is not None]
    if not measured:
        return {**done[0], "ratio": None, "min": None, "median": None, "max": None, "rounds": done,
                "rounds_without_ratio": rounds}
    middle = sorted(measured, key=ratios.__getitem__)[(len(measured) - 1) // 2]
    figures = spread([ratios[n] for n in measured])
    return {**done[middle], "ratio": figures["median"], **figures, "rounds": done,
            "rounds_without_ratio": rounds - len(measured)}


def verdict(figures: dict, target: float, *, at_most: bool = False) -> str:
    """The verdict of a ratio (`figures`: min, median, max) against `target`: met or missed by the
    median, "within noise" when the rounds fall on both sides of the target. `at_most`: lower is
    better (a cost)."""
    low, median, high = figures.get("min"), figures.get("median"), figures.get("max")
    if median is None:
        return ""
    met = median <= target if at_most else median >= target
    if low is not None and high is not None and low < target < high:
        return f"within noise ({'met' if met else 'missed'} at the median)"
    return "met" if met else "MISSED"
