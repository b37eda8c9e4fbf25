"""Deadlocks and serialization failures: retried inside the service, never handed over as a 5xx.

Multi-row changes take their row locks in one global order (by table, then id; see
docs/reliability.md), which rules out the deadlocks of the commands we know. What remains (a lock
order this code does not control, such as the key-share locks of foreign keys, or a future use-case
that gets its order wrong) PostgreSQL breaks by failing one of the transactions: that transaction
did nothing, so running the use-case again from the start is safe and almost always succeeds. A
use-case wrapped in `retried` is run again, a bounded number of times, after a short random pause
(two transactions that collided once should not collide again in step); when it still fails the
caller gets 409 `contended` with `Retry-After`, never a 500. On SQLite every write transaction is
BEGIN IMMEDIATE and waits for the lock instead (busy_timeout), so the same errors are rare there:
a "database is locked" after the whole timeout is handled the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.db import HELD_COMMIT
from kernel.errors import Contended, is_contention
from kernel.metrics import CONTENTION_RETRIES

log = logging.getLogger("zhengban.contention")

ATTEMPTS = 4  # the first run and three more
PAUSE_SECONDS = 0.01  # the longest first pause; it doubles with each attempt


P = ParamSpec("P")
T = TypeVar("T")


def retried(use_case: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Runs `use_case(session, …)` again, from the start and in a fresh transaction, when the
    database broke a deadlock or a serialization conflict by failing it; 409 `contended` (with
    Retry-After) once ATTEMPTS runs failed so. The use-case must do all its work in `session`'s
    one transaction (CONVENTIONS §2): rolled back, nothing of a failed run remains."""

    @functools.wraps(use_case)
    async def run(session: AsyncSession, *args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await use_case(session, *args, **kwargs)
            except sqlalchemy.exc.DBAPIError as exc:
                if not is_contention(exc):
                    raise
                await session.rollback()
                held = session.info.get(HELD_COMMIT)
                if held is not None:  # an Idempotency-Key's request: the failed run's flush is gone too
                    held.committed = False
                CONTENTION_RETRIES.labels(use_case=use_case.__name__,
                                          outcome="retried" if attempt < ATTEMPTS else "refused").inc()
                log.info("transaction failed by contention; %s", "retrying" if attempt < ATTEMPTS else "giving up",
                         extra={"use_case": use_case.__name__, "attempt": attempt})
                if attempt == ATTEMPTS:
                    raise Contended(f"{use_case.__name__.replace('_', ' ')} met concurrent changes of the same "
                                    f"objects {ATTEMPTS} times; try again") from exc
                await asyncio.sleep(random.uniform(0, PAUSE_SECONDS * 2 ** (attempt - 1)))  # noqa: S311
        raise AssertionError("unreachable")

    return run


async def lock_in_order(session: AsyncSession, model, ids) -> None:
    """Locks the rows of `model` with these ids (FOR UPDATE), in id order: the global lock order
    (by table, then id) that keeps two multi-row changes from waiting for each other. SQLite's
    BEGIN IMMEDIATE has already serialized the transaction; the select is harmless there."""
    ids = sorted(set(ids))
    if ids and session.bind.dialect.name == "postgresql":
        await session.execute(sa.select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update())
