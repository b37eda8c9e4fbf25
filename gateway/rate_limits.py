"""The gateway's rate limits, counted where every replica sees them.

Counted in this process on the embedded default, in Redis when `ZHENGBAN_REDIS_URL` is set: with
several gateways behind a load balancer a caller gets its limit once, not once per replica. The
windows move (the `limits` library's moving window): a caller may make `burst` requests in any
`burst / rate` seconds.

In this process the windows are counted by `LocalMovingWindow`, not by the library's in-memory
storage: that one starts a task and a thread-pool call to expire old entries after nearly every
hit, which took a third of the gateway's CPU per proxied request (docs/performance.md).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from typing import NamedTuple

import limits
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

log = logging.getLogger("zhengban.gateway.rate_limits")


def per_burst(rate_per_second: float, burst: int, namespace: str) -> limits.RateLimitItem:
    """`burst` requests in the seconds it takes `rate_per_second` to make them."""
    return limits.RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate_per_second)), namespace=namespace)


def named(limit: str, namespace: str) -> limits.RateLimitItem:
    """A limit in the library's notation ("10 per 15 minutes") counted under its own keys."""
    item = limits.parse(limit)
    return type(item)(item.amount, item.multiples, namespace=namespace)


class WindowStats(NamedTuple):
    reset_time: float  # when the oldest hit in the window leaves it (time.time())
    remaining: int


class LocalMovingWindow:
    """The moving-window limiter's three calls (`hit`, `test`, `get_window_stats`), counted in this
    process: the times of each key's hits within its window, oldest first, dropped as they age."""

    SWEEP_SECONDS = 60.0  # how often keys idle for longer than their window are forgotten

    def __init__(self, clock=time.time):
        self.clock = clock
        self.hits: dict[str, tuple[float, deque[float]]] = {}  # key → (window seconds, hit times)
        self.swept = clock()

    def _window(self, item: limits.RateLimitItem, key: str, now: float) -> deque[float]:
        if now - self.swept > self.SWEEP_SECONDS:
            self.swept = now
            self.hits = {k: v for k, v in self.hits.items() if v[1] and v[1][-1] > now - v[0]}
        expiry = item.get_expiry()
        _, times = self.hits.setdefault(item.key_for(key), (expiry, deque()))
        while times and times[0] <= now - expiry:
            times.popleft()
        return times

    async def hit(self, item: limits.RateLimitItem, key: str) -> bool:
        now = self.clock()
        times = self._window(item, key, now)
        if len(times) >= item.amount:
            return False
        times.append(now)
        return True

    async def test(self, item: limits.RateLimitItem, key: str) -> bool:
        return len(self._window(item, key, self.clock())) < item.amount

    async def get_window_stats(self, item: limits.RateLimitItem, key: str) -> WindowStats:
        now = self.clock()
        times = self._window(item, key, now)
        return WindowStats((times[0] if times else now) + item.get_expiry(), item.amount - len(times))


def limiter_for(redis_url: str, key_prefix: str) -> LocalMovingWindow | MovingWindowRateLimiter:
    if not redis_url:
        return LocalMovingWindow()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    return MovingWindowRateLimiter(RedisStorage(uri, implementation="redispy", key_prefix=f"{key_prefix}:limits",
                                                wrap_exceptions=True))


class RateLimits:
    """Requests per caller and failed sign-ins per client address. Successful sign-ins are not
    counted (an office behind one address signs in at once); guessing one user's password from
    many addresses is stopped by that user's lockout (gateway/identity/service.py)."""

    def __init__(self, settings):
        self.limiter = limiter_for(settings.redis_url, settings.redis_key_prefix)
        self.requests = per_burst(settings.rate_per_second, settings.rate_burst, "requests")
        self.failures_per_address = named(settings.failed_sign_ins_per_address, "failed-sign-ins-address")

    async def take(self, item: limits.RateLimitItem, caller: str) -> float:
        """Counts one request; returns 0 when allowed, else the seconds until the caller may retry."""
        try:
            if await self.limiter.hit(item, caller):
                return 0.0
            return await self._wait(item, caller)
        except StorageError:
            # Redis unreachable: serve rather than refuse everyone; the limits return with Redis.
            log.warning("rate-limit storage unreachable; request not counted", exc_info=True)
            return 0.0

    async def request(self, caller: str) -> float:
        return await self.take(self.requests, caller)

    async def sign_in_refused(self, address: str) -> float:
        """Seconds until this address may try to sign in again (0: now): after too many failures
        from it even the right password waits, or a guesser would learn when it guessed right."""
        item, key = self.failures_per_address, f"ip:{address}"
        try:
            return 0.0 if await self.limiter.test(item, key) else await self._wait(item, key)
        except StorageError:
            log.warning("rate-limit storage unreachable; sign-in failures not checked", exc_info=True)
            return 0.0

    async def sign_in_failed(self, address: str) -> None:
        try:
            await self.limiter.hit(self.failures_per_address, f"ip:{address}")
        except StorageError:
            log.warning("rate-limit storage unreachable; a failed sign-in not counted", exc_info=True)

    async def _wait(self, item: limits.RateLimitItem, key: str) -> float:
        stats = await self.limiter.get_window_stats(item, key)
        return max(1.0, stats.reset_time - time.time())
