"""The one loop behind the work a process repeats for its lifetime: ending standstill periods,
expiring subscriptions, pruning idempotency keys and inbox rows, reloading signing keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from kernel.stopping import stop_if_asked


async def run_every(seconds: float, work: Callable[[], Awaitable[object]], *, what: str, log: logging.Logger,
                    first_after: float = 0.0) -> NoReturn:
    """Runs `work` now (or after `first_after` seconds), then `seconds` after each round ends, until
    the task is cancelled: the app's lifespan cancels it on shutdown. A round that fails is logged
    as "<what> failed" and the next round tries again, so a database that is away for a while does
    not end the loop for good.

    There is no jitter: replicas start at different moments, and each round's work is a
    compare-and-set or an idempotent delete, so two replicas running it at once cannot both win."""
    if first_after:
        await asyncio.sleep(first_after)
    while True:
        stop_if_asked()
        try:
            await work()
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)
