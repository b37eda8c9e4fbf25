"""Putting events on JetStream and reading them back, as another service would, for tests."""

from __future__ import annotations

import asyncio
import json

import nats as nats_client

from kernel.broker import ensure_streams
from kernel.contracts import stream_for
from kernel.events import Event


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
    """Waits until `count` events on `subject` (wildcards allowed) are on the stream; returns them."""
    nc = await nats_client.connect(nats_url)
    got: list[dict] = []
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        sub = await js.subscribe(subject, ordered_consumer=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{len(got)} of {count} events on {subject} within {timeout} s: {got}")
            try:
                msg = await sub.next_msg(timeout=remaining)
            except TimeoutError:
                continue
            got.append(json.loads(msg.data))
    finally:
        await nc.close()
    return got


async def all_published(nats_url: str, subject: str) -> list[dict]:
    """Every event on `subject` now on its stream (the stream counts them, so none is missed and
    no wait is guessed). Read it after the publisher's outbox is empty."""
    nc = await nats_client.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        info = await js.stream_info(stream_for(subject), subjects_filter=subject)
        count = sum((info.state.subjects or {}).values())
    finally:
        await nc.close()
    return await published(nats_url, subject, count=count) if count else []
