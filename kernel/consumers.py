"""Idempotent event consumers: durable JetStream pull consumers with explicit ack.

For each event a consumer applies, the effect and an inbox row (consumer, event id) commit in one
transaction, and the message is acked only after that commit. A redelivery (after a crash before
the ack) or a duplicate finds the inbox row and changes nothing. An event whose handler keeps
failing is parked in the dead-letter table after `max_attempts` deliveries and acked, so the events
after it flow on; `replay` applies it again once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import tracing
from kernel.broker import Broker
from kernel.contracts import stream_for
from kernel.db import Database, insert_ignore
from kernel.errors import Conflict, NotFound
from kernel.events import Event
from kernel.ids import new_id, utcnow
from kernel.metrics import EVENTS_CONSUMED
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.schema import dead_letters, inbox
from kernel.stopping import cancel_and_wait, stop_if_asked

log = logging.getLogger("zhengban.consumers")

HandlerFn = Callable[[AsyncSession, Event], Awaitable[None]]
BatchHandlerFn = Callable[[AsyncSession, list[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """One handler for one subject; the durable consumer is named for the subject, or for `name`
    where a service keeps two copies fed by one subject (each its own consumer and inbox).

    `handle_batch`, when given, applies the new events of a fetched batch in one call (statements per
    batch rather than per event); it must have the effect of `handle` on each in turn, which still
    applies a single event (a retry, a replay, a batch that failed and goes one by one)."""

    subject: str
    handle: HandlerFn
    handle_batch: BatchHandlerFn | None = None
    name: str = ""

    def durable(self, service: str) -> str:
        # A consumer's name may hold no '.', '*' or '>' (a subject's wildcards: "budget.>").
        name = self.name or self.subject.replace(".", "-").replace("*", "any").replace(">", "all")
        return f"{service}--{name}"


class Consumers:
    def __init__(self, service: str, db: Database, broker: Broker, subscriptions: list[Subscription], *,
                 max_attempts: int = 5, batch: int = 64, ack_wait_seconds: int = 30):
        self.service = service
        self.db = db
        self.broker = broker
        self.max_attempts = max_attempts
        self.batch = batch
        self.ack_wait_seconds = ack_wait_seconds
        self.by_name = {s.durable(service): s for s in subscriptions}
        if len(self.by_name) != len(subscriptions):
            # Two handlers under one name would be one consumer: the second silently replacing the first.
            raise ValueError(f"two subscriptions of {service} share a consumer name: give one a `name`")
        self._tasks: list[asyncio.Task] = []
        self._pulls: dict[str, object] = {}  # consumer name → its current pull subscription

    def start(self) -> None:
        for name, sub in self.by_name.items():
            self._tasks.append(asyncio.create_task(self._run(name, sub), name=f"consumer-{name}"))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        # A fetch cut short can leave a message in its subscription's queue that nobody will read,
        # and the connection's drain at shutdown would wait its whole timeout for it: the inboxes
        # go first (what was not acked is redelivered to the durable consumer).
        for psub in self._pulls.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(psub.unsubscribe(), 1)
        self._pulls.clear()

    async def _run(self, name: str, sub: Subscription) -> None:
        await self.broker.wait_ready()
        while True:
            stop_if_asked()
            try:
                js = self.broker.js
                if js is None:
                    await asyncio.sleep(0.5)
                    continue
                psub = await js.pull_subscribe(
                    sub.subject, durable=name, stream=stream_for(sub.subject),
                    config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                          ack_wait=self.ack_wait_seconds, max_deliver=-1, max_ack_pending=1000),
                )
                self._pulls[name] = psub
                while True:
                    stop_if_asked()  # a cancel the fetch or an ack swallowed still ends the consumer
                    try:
                        msgs = await psub.fetch(self.batch, timeout=1)
                    except (NatsTimeoutError, TimeoutError):
                        continue
                    await self._process_batch(name, sub, msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS away or the consumer lost: subscribe again
                log.info("consumer %s interrupted (%s); resubscribing", name, type(exc).__name__)
                await asyncio.sleep(1)

    async def _process_batch(self, name: str, sub: Subscription, msgs: list) -> None:
        """Applies what one fetch brought in one transaction (one commit, not one per event); if
        anything in it fails, one by one, so that a poison event holds back no other and gets its
        own retries and, in the end, its parking."""
        events = []
        for msg in msgs:
            try:
                events.append((msg, tracing.received(Event.model_validate_json(msg.data), msg.headers)))
            except ValidationError:
                await self._process(name, sub, msg)  # parks it
        if len(events) > 1:
            try:
                applied = await self.apply_batch(name, sub, [event for _, event in events])
            except Exception as exc:  # noqa: BLE001 - the single path below records whose it was
                log.info("a batch of %d events failed in %s (%r); applying them one by one", len(events), name, exc)
            else:
                for (msg, _), done in zip(events, applied, strict=True):
                    EVENTS_CONSUMED.labels(name, "applied" if done else "duplicate").inc()
                    await msg.ack()
                return
        for msg, _ in events:
            await self._process(name, sub, msg)

    async def _process(self, name: str, sub: Subscription, msg) -> None:
        try:
            event = tracing.received(Event.model_validate_json(msg.data), msg.headers)
        except ValidationError as exc:
            await self._park(name, None, sub.subject, msg.data.decode(errors="replace"), f"undecodable: {exc}",
                             msg.metadata.num_delivered)
            await msg.ack()
            return
        attempt = msg.metadata.num_delivered
        try:
            applied = await self.apply(name, sub, event)
        except Exception as exc:  # noqa: BLE001 - a handler failure is recorded, never fatal
            if attempt >= self.max_attempts:
                log.error("parking event %s for %s after %d attempts: %r", event.id, name, attempt, exc)
                await self._park(name, event.id, sub.subject, event.model_dump_json(), repr(exc), attempt)
                EVENTS_CONSUMED.labels(name, "parked").inc()
                await msg.ack()
            else:
                log.warning("event %s failed in %s (attempt %d): %r", event.id, name, attempt, exc)
                EVENTS_CONSUMED.labels(name, "retry").inc()
                await msg.nak(delay=min(0.2 * 2 ** attempt, 10))
            return
        EVENTS_CONSUMED.labels(name, "applied" if applied else "duplicate").inc()
        await msg.ack()

    async def apply(self, name: str, sub: Subscription, event: Event) -> bool:
        """Applies `event` once for consumer `name`; False when it had been applied already."""
        token = tracing.current_traceparent.set(event.traceparent)
        try:
            with tracing.consuming(name, event):
                async with self.db.session() as session, session.begin():
                    result = await session.execute(
                        insert_ignore(session, inbox, index_elements=["consumer", "event_id"])
                        .values(consumer=name, event_id=event.id, processed_at=utcnow()))
                    if result.rowcount == 0:
                        return False
                    await sub.handle(session, event)
            return True
        finally:
            tracing.current_traceparent.reset(token)

    async def apply_batch(self, name: str, sub: Subscription, events: list[Event]) -> list[bool]:
        """Applies each of `events` once for consumer `name`, all in one transaction (their inbox
        rows in one statement); for each, False when it had been applied already."""
        async with self.db.session() as session, session.begin():
            now = utcnow()
            firsts = {event.id: event for event in reversed(events)}  # a repeat in the batch: once
            fresh = set((await session.execute(
                insert_ignore(session, inbox, index_elements=["consumer", "event_id"]).returning(inbox.c.event_id),
                [{"consumer": name, "event_id": event_id, "processed_at": now} for event_id in firsts])).scalars())
            done: dict[uuid.UUID, Event] = {}
            for event in events:
                if event.id in fresh and event.id not in done:
                    done[event.id] = event
            if sub.handle_batch is not None:
                # No consume span per event here: the events' own traceparents carry their traces on.
                await sub.handle_batch(session, list(done.values()))
            else:
                for event in done.values():
                    token = tracing.current_traceparent.set(event.traceparent)
                    try:
                        with tracing.consuming(name, event):
                            await sub.handle(session, event)
                    finally:
                        tracing.current_traceparent.reset(token)
        seen: set[uuid.UUID] = set()
        applied = []
        for event in events:
            applied.append(event.id in fresh and event.id not in seen)
            seen.add(event.id)
        return applied

    async def _park(self, name, event_id, subject, payload, error, attempts) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                insert_ignore(session, dead_letters, index_elements=["consumer", "event_id"]).values(
                    id=new_id(), consumer=name, event_id=event_id, subject=subject, payload=payload,
                    error=error[:4000], attempts=attempts, parked_at=utcnow()))

    async def list_dead_letters(self, *, include_replayed: bool = False) -> list[dict]:
        async with self.db.session() as session:
            query = sa.select(dead_letters).order_by(dead_letters.c.parked_at)
            if not include_replayed:
                query = query.where(dead_letters.c.replayed_at.is_(None))
            return [dict(r._mapping) for r in (await session.execute(query)).all()]

    async def dead_letter_page(self, *, cursor: str | None, limit: int) -> Page[dict]:
        """One page of the events parked and not replayed, oldest first."""
        query = sa.select(dead_letters).where(dead_letters.c.replayed_at.is_(None))
        if cursor:
            query = query.where(dead_letters.c.id > decode_cursor(cursor))
        async with self.db.session() as session:
            rows = [dict(r._mapping) for r in (await session.execute(
                query.order_by(dead_letters.c.id).limit(limit + 1))).all()]
        more, rows = len(rows) > limit, rows[:limit]
        return Page(items=rows, next_cursor=encode_cursor(rows[-1]["id"]) if more else None)

    async def replay(self, dead_letter_id: uuid.UUID) -> dict:
        """Applies a parked event again; it stays parked (with the new error) if it fails again."""
        async with self.db.session() as session:
            row = (await session.execute(sa.select(dead_letters).where(dead_letters.c.id == dead_letter_id))).first()
        if row is None or row.replayed_at is not None:
            raise NotFound("no parked event with this id")
        sub = self.by_name.get(row.consumer)
        if sub is None:
            raise Conflict("the consumer of this event no longer exists")
        try:
            event = Event.model_validate_json(row.payload)
            await self.apply(row.consumer, sub, event)
        except Exception as exc:  # noqa: BLE001 - reported to the operator, not raised as a 500
            async with self.db.session() as session, session.begin():
                await session.execute(sa.update(dead_letters).where(dead_letters.c.id == dead_letter_id)
                                      .values(error=repr(exc)[:4000], attempts=dead_letters.c.attempts + 1))
            raise Conflict(f"the event failed again: {exc!r}"[:500], slug="replay-failed",
                           title="The parked event failed again") from exc
        async with self.db.session() as session, session.begin():
            await session.execute(sa.update(dead_letters).where(dead_letters.c.id == dead_letter_id)
                                  .values(replayed_at=utcnow()))
        return {"id": str(dead_letter_id), "replayed": True}
