"""The NATS connection of a process, and the JetStream streams the code provisions.

A process must start and keep answering HTTP while NATS is down, so the connection is made by a
background loop that keeps trying, and everything that needs JetStream asks `broker.js` and
copes with None (events simply wait in the outbox).
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from kernel.contracts import STREAMS
from kernel.stopping import cancel_and_wait

log = logging.getLogger("zhengban.broker")

DUPLICATE_WINDOW_SECONDS = 3600.0


class Broker:
    def __init__(self, url: str, *, name: str, stream_replicas: int = 1):
        self.servers = [s.strip() for s in url.split(",") if s.strip()]
        self.name = name
        self.stream_replicas = stream_replicas
        self.nc: nats.NATS | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False
        self._js: tuple[nats.NATS, object] | None = None  # (the connection, its JetStream context)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def js(self):
        """The connection's JetStream context, or None while not connected. One per connection:
        its asynchronous publishes (the outbox relay's) share one reply subscription, which a
        context made per call would open again each time."""
        if not self.connected:
            return None
        if self._js is None or self._js[0] is not self.nc:
            self._js = (self.nc, self.nc.jetstream(timeout=5))
        return self._js[1]

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name=f"broker-connect-{self.name}")

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _connect_loop(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                # Once connected, nats-py reconnects by itself forever (max_reconnect_attempts=-1);
                # only the very first connection needs this loop.
                self.nc = await nats.connect(
                    servers=self.servers, name=self.name, connect_timeout=2,
                    max_reconnect_attempts=-1, reconnect_time_wait=0.5, allow_reconnect=True,
                    error_cb=self._on_error, disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                break
            except Exception as exc:  # noqa: BLE001 - any failure means "try again later"
                log.info("nats not reachable yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)
        while not self._closing:
            try:
                await ensure_streams(self.nc.jetstream(timeout=5), replicas=self.stream_replicas)
                break
            except Exception as exc:  # noqa: BLE001 - JetStream may still be electing a leader
                log.info("streams not provisioned yet (%s); retrying", exc)
                await asyncio.sleep(1)
        if self._closing:
            return
        log.info("connected to nats", extra={"servers": self.servers})
        self._ready.set()

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats error: %s", exc)

    async def _on_disconnected(self) -> None:
        log.warning("disconnected from nats; events wait in the outbox")

    async def _on_reconnected(self) -> None:
        log.info("reconnected to nats")

    async def close(self) -> None:
        self._closing = True
        if self._task:
            # Waited for: a cancel lost inside nats-py (see kernel.stopping) would otherwise leave
            # this loop retrying on a closed connection after the process (or test) is done.
            await cancel_and_wait([self._task])
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 3)
            except Exception:  # noqa: BLE001 - closing anyway
                await self.nc.close()


async def ensure_streams(js, *, replicas: int = 1) -> None:
    """Creates the four streams if missing: file storage, a one-hour duplicate window."""
    for prefix, name in STREAMS.items():
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(StreamConfig(
                name=name, subjects=[f"{prefix}.>"], storage=StorageType.FILE,
                retention=RetentionPolicy.LIMITS, duplicate_window=DUPLICATE_WINDOW_SECONDS,
                num_replicas=replicas,
            ))
