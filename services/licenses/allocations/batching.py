"""Group commit for allocations: requests for seats that arrive while a transaction of seats is
running are applied together in the next one, whatever their pools.

Every allocation of a pool updates the pool's row, so allocations of one pool queue on its lock and
their rate is one over the time the lock is held; and every allocation, of any pool, pays a
transaction's round trips and commit. Applying the requests that queued meanwhile as one
transaction (one multi-row insert each of allocations, ledger lines and outbox rows, then one
guarded counter update per pool, in pool-id order) pays the lock, the round trips and the commit
once per batch instead of once per seat: k requests cost about 8 + k round trips instead of 9k. A
lone request starts at once; under contention the next batch waits at most `window` for
stragglers before it starts. Each request still gets its own answer, allocation id and event
(`seats.allocate_seats`), one pool's refusals never touch another's, and the database remains the
arbiter, so several replicas, each batching on its own, stay correct.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from kernel.db import Database
from kernel.errors import DomainError
from kernel.metrics import SEAT_BATCH_SIZE
from services.licenses.allocations import seats
from services.licenses.users.directory import UserDirectory

log = logging.getLogger("zhengban.licenses.batching")


@dataclass
class Waiting:
    ask: seats.SeatAsk
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class SeatBatcher:
    def __init__(self, db: Database, users: UserDirectory, *, max_batch: int = 256, window_seconds: float = 0.002,
                 in_flight: int = 2):
        self.db = db
        self.users = users
        self.max_batch = max_batch
        self.window_seconds = window_seconds
        self.in_flight = in_flight
        self.waiting: list[Waiting] = []
        self.running = 0  # batches being applied now
        self.tasks: set[asyncio.Task] = set()

    async def allocate(self, ask: seats.SeatAsk) -> tuple[dict, bool]:
        """Takes a seat for `ask` in the next batch: (the allocation's row, created), or raises the
        DomainError to answer (see seats.allocate_seats)."""
        waiting = Waiting(ask)
        self.waiting.append(waiting)
        if self.running < self.in_flight:
            # Fewer batches running than allowed: start one now. With two, the next batch writes
            # its rows while the one before holds its pools' rows for their counters and commit,
            # instead of waiting for all of that transaction.
            self.running += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        outcome = await waiting.answer
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def _drain(self) -> None:
        """Applies the queue batch after batch until it is empty."""
        contended = False
        try:
            while self.waiting:
                if contended and self.window_seconds and len(self.waiting) < self.max_batch:
                    # Requests answered by the last batch are sending their next one: a moment's
                    # wait lets them join this batch rather than each wait a whole transaction.
                    await asyncio.sleep(self.window_seconds)
                    if not self.waiting:
                        break  # another batch took them
                batch = self.waiting[:self.max_batch]
                del self.waiting[:self.max_batch]
                await self._apply(batch)
                contended = bool(self.waiting)
        finally:
            self.running -= 1
            if not self.running:  # only when cancelled (shutdown): nobody is left hanging
                for waiting in self.waiting:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(asyncio.CancelledError())
                self.waiting.clear()

    async def _apply(self, batch: list[Waiting]) -> None:
        SEAT_BATCH_SIZE.observe(len(batch))
        try:
            async with self.db.session() as session:
                outcomes = await seats.allocate_batch(session, [w.ask for w in batch], self.users)
        except Exception as failure:  # noqa: BLE001 - handed to the request(s) it belongs to
            if len(batch) == 1:
                batch[0].answer.set_exception(failure)
                return
            # One request must not fail the others: apply them one by one, each with its own fate.
            log.warning("a batch of %d allocations failed (%r); applying them one by one", len(batch), failure)
            for waiting in batch:
                await self._apply([waiting])
            return
        again = []
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                again.append(waiting)
            elif not waiting.answer.done():
                waiting.answer.set_result(outcome)
        if again:
            await self._apply(again)


async def get_seats(request: Request) -> SeatBatcher:  # async: no worker thread (kernel/deps.py)
    return request.app.state.seats


# The seat path's next hop, declared where a route takes it (as Orgs and Users are).
Seats = Annotated[SeatBatcher, Depends(get_seats)]
