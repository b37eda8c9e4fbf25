"""The transactional outbox and the relay that moves it to JetStream.

A use-case adds its event with `add_event` in the same transaction as the state change, so both
commit or neither does. The relay publishes committed rows with `Nats-Msg-Id` = event id (JetStream
drops a repeat within its duplicate window), then marks them published. It wakes right after a
commit that wrote outbox rows and also polls, so rows left by a crash or a NATS outage go out
once NATS is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import tracing
from kernel.broker import Broker
from kernel.db import Database, among, insert_rows
from kernel.events import EncodedEvent, Event
from kernel.ids import utcnow
from kernel.metrics import OUTBOX_PUBLISHED
from kernel.schema import outbox
from kernel.stopping import stop_if_asked

log = logging.getLogger("zhengban.outbox")

_DIRTY = "zhengban.outbox_dirty"


async def add_event(session: AsyncSession, event: Event) -> None:
    """Writes `event` into the outbox in the session's transaction: published only if it commits."""
    await add_events(session, [event])


async def add_events(session: AsyncSession, events: Sequence[Event | EncodedEvent]) -> None:
    """Writes many events in one statement (bulk use-cases emit one event per item, already
    encoded by kernel.events.new_events)."""
    if not events:
        return
    now = utcnow()
    encoded = [event if isinstance(event, EncodedEvent) else event.encoded() for event in events]
    await insert_rows(session, outbox, [{"event_id": event.id, "subject": event.nats_subject,
                                         "payload": event.payload, "created_at": now} for event in encoded])
    session.info[_DIRTY] = True


# How long the relay waits for JetStream to acknowledge a batch (as long as a request's timeout was).
ACK_TIMEOUT_SECONDS = 5.0


async def publish_all(js, rows: Sequence) -> list[bool]:
    """Publishes the rows' events (`subject`, `payload`, `event_id`) and returns, for each, whether
    JetStream acknowledged it. Published without waiting in between (`publish_async`), the acks
    awaited together after: they still leave in order over the one connection, and an event costs
    a future and a reply, not a request of its own (its task, inbox and timer), which made the
    relay's CPU per event more than the bulk allocation's that wrote it (docs/performance.md,
    "Bulk allocation"). What is not acknowledged in time counts as not published."""
    futures: list[asyncio.Future] = []
    try:
        for r in rows:
            futures.append(await js.publish_async(r.subject, r.payload.encode(), headers=tracing.publish_headers(
                r.subject, r.payload, {"Nats-Msg-Id": str(r.event_id)})))
    except Exception:  # noqa: BLE001 - the connection went away mid-batch: the rest wait for the next pass
        log.warning("publishing stopped after %d of %d events", len(futures), len(rows), exc_info=True)
    if futures:
        _, late = await asyncio.wait(futures, timeout=ACK_TIMEOUT_SECONDS)
        for future in late:
            future.cancel()
    acked = [not future.cancelled() and future.exception() is None for future in futures]
    return acked + [False] * (len(rows) - len(futures))


class OutboxRelay:
    def __init__(self, db: Database, broker: Broker, *, batch_size: int = 256,
                 poll_seconds: float = 1.0, keep_published: timedelta = timedelta(days=1)):
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.keep_published = keep_published
        self._wake = asyncio.Event()
        db.on_commit(self._after_commit)

    def _after_commit(self, session) -> None:
        if session.info.pop(_DIRTY, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        last_prune = utcnow()
        while True:
            stop_if_asked()  # a cancel nats-py's publish swallowed still ends the relay
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while await self.publish_batch() == self.batch_size:
                    stop_if_asked()
                if utcnow() - last_prune > timedelta(minutes=10):
                    await self.prune()
                    last_prune = utcnow()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the relay must outlive any one failure
                log.exception("outbox relay pass failed; retrying")
                await asyncio.sleep(self.poll_seconds)

    async def publish_batch(self) -> int:
        """Publishes up to one batch of unpublished rows; returns how many went out."""
        js = self.broker.js
        if js is None:
            return 0
        async with self.db.session() as session:
            async with session.begin():
                query = (sa.select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload)
                         .where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq)
                         .limit(self.batch_size))
                if self.db.dialect == "postgresql":
                    # Replicas of a service share the table: each claims rows nobody else holds.
                    query = query.with_for_update(skip_locked=True)
                rows = (await session.execute(query)).all()
                if not rows:
                    return 0
                acks = await publish_all(js, rows)
                done = [r.seq for r, acked in zip(rows, acks, strict=True) if acked]
                failed = [r.seq for r, acked in zip(rows, acks, strict=True) if not acked]
                for among_done in among(session, outbox.c.seq, done):
                    await session.execute(sa.update(outbox).where(among_done).values(published_at=utcnow()))
                for among_failed in among(session, outbox.c.seq, failed):
                    await session.execute(sa.update(outbox).where(among_failed)
                                          .values(attempts=outbox.c.attempts + 1))
                if failed:
                    log.warning("could not publish %d events; they stay in the outbox", len(failed))
        OUTBOX_PUBLISHED.inc(len(done))
        return len(done) if not failed else 0

    async def prune(self) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(outbox).where(
                outbox.c.published_at < utcnow() - self.keep_published))

    async def pending(self) -> int:
        async with self.db.session() as session:
            return (await session.execute(
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )).scalar_one()
