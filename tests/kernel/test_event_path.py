"""The event path with a real NATS server: outbox → JetStream → idempotent consumer → dead letters."""

from __future__ import annotations

import asyncio
import uuid

import nats as nats_client
import pytest
import sqlalchemy as sa

from kernel import history
from kernel.broker import Broker
from kernel.consumers import Consumers, Subscription
from kernel.contracts import LineApproved
from kernel.db import Database
from kernel.errors import NotFound
from kernel.events import Event, new_event
from kernel.ids import new_id, utcnow
from kernel.outbox import OutboxRelay, add_event
from kernel.schema import dead_letters, inbox, outbox
from tests.support.apps import eventually

SUBJECT = "budget.line.approved"


def approved(line_id: uuid.UUID | None = None, fen: int = 100) -> Event:
    payload = LineApproved(line_id=line_id or new_id(), org_id=new_id(), fiscal_year=2026, category="office",
                           approved_fen=fen)
    return new_event(SUBJECT, payload, source="zhengban/test", about=payload.line_id)


class Kit:
    """A database, a broker, a relay and a consumer group, as a service process has them."""

    def __init__(self, url: str, nats_url: str, handler=None, max_attempts: int = 5, batch_handler=None):
        self.db = Database(url)
        self.broker = Broker(nats_url, name="kernel-test")
        self.relay = OutboxRelay(self.db, self.broker, poll_seconds=0.2)
        self.applied: list[uuid.UUID] = []
        self.consumers = Consumers("kerneltest", self.db, self.broker,
                                   [Subscription(SUBJECT, handler or self.record_effect, batch_handler)],
                                   max_attempts=max_attempts)
        self.tasks: list[asyncio.Task] = []

    async def record_effect(self, session, event: Event) -> None:
        # The effect is a history row, written in the consumer's transaction.
        await history.record(session, "line", event.payload(LineApproved).line_id, "seen", "test")
        self.applied.append(event.id)

    async def effects(self, line_id: uuid.UUID) -> int:
        async with self.db.session() as session:
            return len(await history.history_of(session, line_id))

    async def __aenter__(self):
        self.broker.start()
        self.tasks.append(asyncio.create_task(self.relay.run()))
        return self

    def start_consumers(self) -> None:
        self.consumers.start()

    async def __aexit__(self, *exc):
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.consumers.stop()
        await self.broker.close()
        await self.db.dispose()


async def emit(kit: Kit, event: Event) -> None:
    async with kit.db.session() as session:
        await add_event(session, event)
        await session.commit()


async def publish_and_wait_for_a_parked_event(kit: Kit, events: list[Event], poison: Event) -> None:
    """Publishes `events` straight to the stream, starts the consumers, and waits until the poison
    event, and only it, is parked."""
    for event in events:
        await kit.broker.js.publish(SUBJECT, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.id)})
    kit.start_consumers()

    async def parked():
        rows = await kit.consumers.list_dead_letters()
        return rows if rows else None

    rows = await eventually(parked, timeout=20)
    assert [r["event_id"] for r in rows] == [poison.id]


async def assert_applied_once_but(kit: Kit, events: list[Event], poison: Event) -> None:
    """Every event but the poison one took effect once and is in the inbox; the poison one is not."""
    for event in events:
        if event is not poison:
            assert await kit.effects(event.payload(LineApproved).line_id) == 1
    async with kit.db.session() as session:
        consumed = set((await session.execute(sa.select(inbox.c.event_id))).scalars())
    assert consumed == {e.id for e in events if e is not poison}


async def stream_messages(nats_url: str, stream: str = "BUDGET") -> int:
    nc = await nats_client.connect(nats_url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()


async def test_event_committed_while_nats_is_down_is_published_when_it_returns(databases, own_nats):
    async with Kit(await databases.fresh("budget"), own_nats.url) as kit:
        await kit.broker.wait_ready(10)
        own_nats.stop()

        async def disconnected():
            return not kit.broker.connected

        await eventually(disconnected)
        await emit(kit, approved())
        assert await kit.relay.pending() == 1

        own_nats.start()  # same port, same storage
        await eventually(lambda: _zero(kit), timeout=20)
        assert await stream_messages(own_nats.url) == 1


async def _zero(kit: Kit) -> bool:
    return await kit.relay.pending() == 0


async def test_rollback_publishes_nothing(databases, nats):
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        await kit.broker.wait_ready(10)
        async with kit.db.session() as session:
            await add_event(session, approved())
            await session.rollback()
        committed = approved()
        await emit(kit, committed)  # a later commit proves the relay ran after the rollback
        await eventually(lambda: _zero(kit))
        assert await stream_messages(nats.url) == 1
        async with kit.db.session() as session:
            ids = (await session.execute(sa.select(outbox.c.event_id))).scalars().all()
        assert ids == [committed.id]


async def test_an_event_jetstream_refuses_stays_in_the_outbox_and_the_rest_of_its_batch_goes(databases, nats):
    """The relay publishes a batch without waiting between events and reads their acks after: one
    that no stream takes (no ack) stays unpublished with one more attempt, the others are marked
    published, in the stream once each."""
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        await kit.broker.wait_ready(10)
        first, second = approved(), approved()
        stray = approved().model_copy(update={"type": "nostream.anything.v1"})
        async with kit.db.session() as session:
            for event in (first, stray, second):
                await add_event(session, event)
            await session.commit()

        async def attempted():
            async with kit.db.session() as session:
                rows = (await session.execute(sa.select(outbox.c.event_id, outbox.c.published_at,
                                                        outbox.c.attempts))).all()
            return rows if any(r.attempts for r in rows) and await kit.relay.pending() == 1 else None

        rows = {r.event_id: r for r in await eventually(attempted, timeout=20)}
        assert rows[stray.id].published_at is None and rows[stray.id].attempts >= 1
        assert all(rows[e.id].published_at is not None and rows[e.id].attempts == 0 for e in (first, second))
        assert await stream_messages(nats.url) == 2


async def test_duplicated_and_redelivered_event_has_its_effect_once(databases, nats):
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        await kit.broker.wait_ready(10)
        kit.start_consumers()
        event = approved()
        line_id = event.payload(LineApproved).line_id
        js = kit.broker.js
        body = event.model_dump_json().encode()
        # The same event published under three message ids (JetStream's own dedupe cannot help),
        # as a producer that crashed after publishing but before marking its outbox row would.
        for suffix in ("a", "b", "c"):
            await js.publish(SUBJECT, body, headers={"Nats-Msg-Id": f"{event.id}-{suffix}"})
        follow_up = approved()
        await js.publish(SUBJECT, follow_up.model_dump_json().encode(), headers={"Nats-Msg-Id": str(follow_up.id)})
        await eventually(lambda: _applied(kit, follow_up.id))
        assert kit.applied.count(event.id) == 1
        assert await kit.effects(line_id) == 1


async def _applied(kit: Kit, event_id) -> bool:
    return event_id in kit.applied


async def test_poisoned_event_is_parked_without_blocking_the_rest_and_replays_after_a_fix(databases, nats):
    broken = {"on": True}
    poison = approved(fen=666)

    async def handler(session, event: Event) -> None:
        if broken["on"] and event.id == poison.id:
            raise RuntimeError("cannot apply this one")
        await kit.record_effect(session, event)

    async with Kit(await databases.fresh("budget"), nats.url, handler=handler, max_attempts=3) as kit:
        await kit.broker.wait_ready(10)
        kit.start_consumers()
        await emit(kit, poison)
        after = [approved() for _ in range(5)]
        for event in after:
            await emit(kit, event)

        async def rest_applied():
            return all(e.id in kit.applied for e in after)

        await eventually(rest_applied, timeout=20)

        async def parked():
            rows = await kit.consumers.list_dead_letters()
            return rows if rows else None

        rows = await eventually(parked, timeout=20)
        assert len(rows) == 1
        assert rows[0]["event_id"] == poison.id and rows[0]["attempts"] == 3
        assert "cannot apply this one" in rows[0]["error"]
        assert poison.id not in kit.applied

        broken["on"] = False
        result = await kit.consumers.replay(rows[0]["id"])
        assert result["replayed"] is True
        assert kit.applied.count(poison.id) == 1
        assert await kit.consumers.list_dead_letters() == []
        async with kit.db.session() as session:
            replayed = (await session.execute(sa.select(dead_letters.c.replayed_at))).scalar_one()
        assert replayed is not None


async def test_replaying_an_unknown_dead_letter_is_not_found(databases, nats):
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        with pytest.raises(NotFound):
            await kit.consumers.replay(new_id())


async def test_a_fetched_batch_is_applied_in_one_transaction_each_event_once(databases, nats):
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        await kit.broker.wait_ready(10)
        events = [approved() for _ in range(8)]
        js = kit.broker.js
        for event in events + events[:2]:  # two of them twice, as a crashed producer would send
            await js.publish(SUBJECT, event.model_dump_json().encode(), headers={"Nats-Msg-Id": new_id().hex})
        kit.start_consumers()  # the ten are waiting: the first fetch takes them all

        async def all_applied():
            return all(e.id in kit.applied for e in events)

        await eventually(all_applied, timeout=20)
        for event in events:
            assert await kit.effects(event.payload(LineApproved).line_id) == 1
        async with kit.db.session() as session:
            moments = (await session.execute(sa.select(inbox.c.processed_at))).scalars().all()
        assert len(moments) == 8 and len(set(moments)) == 1  # one transaction wrote all eight


async def test_a_poison_event_in_a_batch_holds_back_none_of_the_others(databases, nats):
    poison = approved(fen=666)

    async def handler(session, event: Event) -> None:
        if event.id == poison.id:
            raise RuntimeError("cannot apply this one")
        await kit.record_effect(session, event)

    async with Kit(await databases.fresh("budget"), nats.url, handler=handler, max_attempts=2) as kit:
        await kit.broker.wait_ready(10)
        events = [approved() for _ in range(3)] + [poison] + [approved() for _ in range(3)]
        await publish_and_wait_for_a_parked_event(kit, events, poison)
        await assert_applied_once_but(kit, events, poison)


async def test_a_batch_handler_gets_each_new_event_once(databases, nats):
    calls: list[list[uuid.UUID]] = []

    async def handle_batch(session, events: list[Event]) -> None:
        calls.append([event.id for event in events])
        for event in events:
            await kit.record_effect(session, event)

    async with Kit(await databases.fresh("budget"), nats.url, batch_handler=handle_batch) as kit:
        await kit.broker.wait_ready(10)
        events = [approved() for _ in range(6)]
        async with kit.db.session() as session, session.begin():  # the first was applied already
            await session.execute(sa.insert(inbox).values(consumer=f"kerneltest--{SUBJECT.replace('.', '-')}",
                                                          event_id=events[0].id, processed_at=utcnow()))
        for event in events + events[1:3]:  # two of them twice, under new message ids
            await kit.broker.js.publish(SUBJECT, event.model_dump_json().encode(),
                                        headers={"Nats-Msg-Id": new_id().hex})
        kit.start_consumers()

        async def all_applied():
            return all(e.id in kit.applied for e in events[1:])

        await eventually(all_applied, timeout=20)
        assert sorted(event_id for call in calls for event_id in call) == sorted(e.id for e in events[1:])
        assert await kit.effects(events[0].payload(LineApproved).line_id) == 0
        for event in events[1:]:
            assert await kit.effects(event.payload(LineApproved).line_id) == 1


async def test_a_batch_handler_that_fails_leaves_the_batch_to_the_single_handler(databases, nats):
    poison = approved(fen=666)
    calls: list[list[uuid.UUID]] = []

    async def handler(session, event: Event) -> None:
        if event.id == poison.id:
            raise RuntimeError("cannot apply this one")
        await kit.record_effect(session, event)

    async def handle_batch(session, events: list[Event]) -> None:
        calls.append([event.id for event in events])
        for event in events:
            await handler(session, event)

    async with Kit(await databases.fresh("budget"), nats.url, handler=handler, max_attempts=2,
                   batch_handler=handle_batch) as kit:
        await kit.broker.wait_ready(10)
        events = [approved() for _ in range(3)] + [poison] + [approved() for _ in range(3)]
        await publish_and_wait_for_a_parked_event(kit, events, poison)
        assert calls and poison.id in calls[0]  # the batch was tried first, and rolled back whole
        await assert_applied_once_but(kit, events, poison)


async def test_parked_events_read_one_page_at_a_time(databases, nats):
    async with Kit(await databases.fresh("budget"), nats.url) as kit:
        async with kit.db.session() as session, session.begin():
            for n in range(5):
                await session.execute(sa.insert(dead_letters).values(
                    id=new_id(), consumer="kerneltest", event_id=new_id(), subject=SUBJECT, payload="{}",
                    error=f"failure {n}", attempts=3, parked_at=utcnow()))
        seen, cursor, pages = [], None, 0
        while True:
            page = await kit.consumers.dead_letter_page(cursor=cursor, limit=2)
            seen += [row["error"] for row in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"failure {n}" for n in range(5)] and pages == 3


def test_two_handlers_of_one_subject_need_names_of_their_own():
    """Two handlers under one durable name would be one consumer, the second silently replacing the
    first (licenses keeps both its disabled users and its users' orgs from identity.user.changed)."""
    async def handle(session, event):
        return None

    with pytest.raises(ValueError, match="share a consumer name"):
        Consumers("kerneltest", None, None, [Subscription(SUBJECT, handle), Subscription(SUBJECT, handle)])
    both = Consumers("kerneltest", None, None, [Subscription(SUBJECT, handle), Subscription(SUBJECT, handle, name="x")])
    assert sorted(both.by_name) == ["kerneltest--budget-line-approved", "kerneltest--x"]
