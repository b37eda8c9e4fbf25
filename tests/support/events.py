"""Putting events on JetStream and reading them back, as another service would, for tests."""

from __future__ import annotations

import asyncio
import json

import nats as nats_client

from kernel.broker import ensure_streams
from kernel.contracts import stream_for
from kernel.events import Event
from tests.support.apps import eventually


async def publish(nats_url: str, *events: Event) -> None:
    """Publishes events the way an outbox relay does (Nats-Msg-Id = event id)."""
    nc = await nats_client.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for event in events:
            await js.publish(event.nats_subject, event.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()


async def published(nats_url: str, subject: str, *, count: int, timeout: float = 15) -> list[dict]:
    """The `count` events on `subject` (wildcards allowed), and no more: waits until `count` are on
    the stream, then until every durable consumer has handled (acked) all it was given, and fails if
    the stream then holds more than `count`: an effect applied twice that published twice, also when
    the second came after the first `count` (an event its outbox has not relayed yet is not seen)."""
    nc = await nats_client.connect(nats_url)
    got: list[dict] = []
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        sub = await js.subscribe(subject, ordered_consumer=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(got) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{len(got)} of {count} events on {subject} within {timeout} s: {got}")
            try:
                msg = await sub.next_msg(timeout=remaining)
            except TimeoutError:
                continue
            got.append(json.loads(msg.data))
        await sub.unsubscribe()

        async def idle() -> bool:
            busy = await _consumers_busy(js)
            assert not busy, f"consumers still busy after {timeout} s: {busy}"
            return True

        await eventually(idle, timeout=max(deadline - loop.time(), 1))
        on_stream = await _count(js, subject)
    finally:
        await nc.close()
    assert on_stream == count, f"{on_stream} events on {subject}, not {count}: {got}"
    return got


async def _count(js, subject: str) -> int:
    """How many messages on `subject` (wildcards allowed) its stream holds."""
    info = await js.stream_info(stream_for(subject), subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def _consumers_busy(js) -> list[str]:
    """The durable consumers with messages not yet delivered or not yet acknowledged."""
    busy = []
    for stream in await js.streams_info():
        for info in await js.consumers_info(stream.config.name):
            if info.config.durable_name and (info.num_pending or info.num_ack_pending):
                busy.append(f"{info.name} ({info.num_pending} pending, {info.num_ack_pending} unacked)")
    return busy


async def all_published(nats_url: str, subject: str) -> list[dict]:
    """Every event on `subject` now on its stream (the stream counts them, so none is missed and
    no wait is guessed). Read it after the publisher's outbox is empty."""
    nc = await nats_client.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        count = await _count(js, subject)
    finally:
        await nc.close()
    return await published(nats_url, subject, count=count) if count else []
