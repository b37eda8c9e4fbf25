"""The background loop: a failing round is logged and followed by the next; cancelling stops it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kernel.background import run_every
from tests.support.apps import eventually


async def test_a_failing_round_is_logged_and_the_next_one_runs(caplog):
    rounds: list[int] = []

    async def work():
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the database is away")

    task = asyncio.create_task(run_every(0.01, work, what="counting rounds", log=logging.getLogger("test.loop")))

    async def three_rounds():
        return len(rounds) >= 3

    await eventually(three_rounds, timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    failures = [r for r in caplog.records if r.name == "test.loop"]
    assert [(r.levelno, r.getMessage()) for r in failures] == [(logging.ERROR, "counting rounds failed")]
    assert failures[0].exc_info[0] is RuntimeError


async def test_the_first_round_waits_when_asked():
    rounds: list[float] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def work():
        rounds.append(loop.time() - started)

    task = asyncio.create_task(run_every(60, work, what="waiting", log=logging.getLogger("test.loop"),
                                         first_after=0.05))

    async def ran():
        return rounds

    assert (await eventually(ran, timeout=5))[0] >= 0.05
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(rounds) == 1  # the next round is a minute away


async def test_one_cancel_ends_the_loop_even_when_a_library_swallows_it():
    """nats-py's flush catches CancelledError: a cancel landing there never reaches the loop. The
    loop still ends at its next round, so a single cancel (the test runner's, at its loop's close,
    waits with no limit) is enough."""
    inside = asyncio.Event()
    swallowing = True

    async def swallowing_work():
        inside.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if not swallowing:
                raise
            # otherwise swallowed, as nats-py's _flush_pending does

    task = asyncio.create_task(run_every(0.01, swallowing_work, what="swallowing", log=logging.getLogger("test.loop")))
    await asyncio.wait_for(inside.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:  # the loop ran on: stop it for real, so that the failure below is not a hang
        swallowing = False
        task.cancel()
    assert done, "the loop went on after its cancel was swallowed"
    assert task.cancelled()
