"""Closed-loop load: N concurrent clients, each sending its next request when the last answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import orjson


@dataclass
class Result:
    """One measurement. Throughput counts only the answers the scenario expects (`expected`
    statuses): a 4xx or 5xx is quick to make and must not raise it."""

    name: str
    requests: int = 0  # answers of any status
    errors: int = 0  # requests that got no answer (connection errors, timeouts)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    expected: tuple[int, ...] = (200, 201, 202)
    generator: str = "python"
    # Precomputed by an external generator (wrk); else taken from `latencies`.
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in self.expected)

    @property
    def unexpected(self) -> int:
        return self.requests - self.ok + self.errors

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if p in (50, 99) and getattr(self, f"p{p}_ms") is not None:
            return getattr(self, f"p{p}_ms")
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def summary(self) -> dict:
        return {"name": self.name, "generator": self.generator, "requests": self.requests, "ok": self.ok,
                "unexpected": self.unexpected, "expected": list(self.expected), "errors": self.errors,
                "seconds": round(self.seconds, 2), "throughput_per_s": round(self.throughput, 1),
                "p50_ms": round(self.percentile(50), 2), "p99_ms": round(self.percentile(99), 2),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


async def run_load(name: str, call: Callable[[int], Awaitable[int]], *, concurrency: int, seconds: float,
                   max_requests: int | None = None, expected: tuple[int, ...] = (200, 201, 202),
                   warmup: float = 0.0, until: asyncio.Future | None = None) -> Result:
    """Calls `call(n)` (n: a sequence number; returns an HTTP status) from `concurrency` workers,
    after `warmup` seconds of the same calls that are not counted, for `seconds` or until `until`
    is done. A latency runs from just before the request is sent to its answer."""
    counter = iter(range(10**12))
    if warmup:
        await _closed_loop(Result(name), call, counter, concurrency, time.perf_counter() + warmup, None, None)
    result = Result(name, expected=expected)
    started = time.perf_counter()
    await _closed_loop(result, call, counter, concurrency, started + seconds, max_requests, until)
    result.seconds = time.perf_counter() - started
    return result


async def _closed_loop(result: Result, call, counter, concurrency: int, deadline: float,
                       max_requests: int | None, until: asyncio.Future | None) -> None:
    async def worker():
        while time.perf_counter() < deadline and not (until is not None and until.done()):
            n = next(counter)
            if max_requests is not None and n >= max_requests:
                return
            started = time.perf_counter()
            try:
                status = await call(n)
            except Exception:  # noqa: BLE001 - counted, the load goes on
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@dataclass
class Reply:
    status_code: int
    body: bytes

    def json(self):
        return orjson.loads(self.body)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.body[:500]!r}")


class LoadClient:
    """A lean keep-alive HTTP client for the load side, on aiohttp like the gateway's proxy: with
    httpx the load generator itself ate a large share of the two cores it shares with the system
    under test (httpcore polls every idle pooled socket on each request)."""

    def __init__(self, base_url: str, connections: int, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadClient:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.connections),
                                             timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, *, headers: dict | None = None, json=None,
                      params: dict | None = None) -> Reply:
        data = orjson.dumps(json) if json is not None else None
        headers = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
        async with self.session.request(method, self.base_url + path, data=data, headers=headers,
                                        params=params) as resp:
            return Reply(resp.status, await resp.read())

    async def get(self, path: str, **kwargs) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> Reply:
        return await self.request("POST", path, **kwargs)
