"""Routing `/api/v1/{budget,procurement,licenses}/…` to the services over pooled HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from multidict import CIMultiDict
from starlette.routing import Match, Route
from starlette.types import Scope
from yarl import URL

from kernel import tracing
from kernel.errors import problem_for_status
from kernel.tracing import current_request_id

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never passed on.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# Headers aiohttp would add on its own; the proxy passes on only what the caller sent.
NOT_ADDED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

SERVICES = ("budget", "procurement", "licenses")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # A large answer's body as it arrives (`Upstreams.fetch`, streamed=True); `body` is then empty.
    chunks: AsyncIterator[bytes] | None = None


# An answer declaring more bytes than this, or sent in chunks of unknown total (a CSV export, which
# the service streams as it reads its pages), is passed on as it arrives, not read whole first: a
# large group's compliance report (29 MB for 50,000 computers) then crosses the gateway while the
# service is still sending it, and an export of any size costs the gateway no more memory than a
# chunk. Smaller answers, nearly all, are read whole: one send costs the hot paths less than a
# stream's.
STREAMED_ABOVE = 1 << 20
STREAMED_CHUNK = 256 << 10


# How long the pool keeps an idle connection to a service: well under the time a service keeps one
# open (zhengban/cli.py `KEEP_ALIVE_SECONDS`). At 30 s against uvicorn's 5 s, the gateway now and
# then sent a request on a connection the service was closing, and answered 502 "not reachable"
# (seen once in CI's fuzz test). A new connection on the loopback costs a fraction of a millisecond.
POOLED_IDLE_SECONDS = 2.0


class Upstreams:
    """One pooled client per service replica; requests go round-robin, and a replica that does not
    accept the connection is skipped (the request never reached it, so trying the next is safe).

    aiohttp, not httpx, on this path: httpcore's pool polls every idle keep-alive socket on each
    request, which cost the gateway half of its CPU at 32 concurrent callers (docs/performance.md).
    """

    def __init__(self, urls: dict[str, str], timeout: float):
        self.replicas = {name: [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
                         for name, url in urls.items()}
        # `timeout` bounds each wait for the service to send something (the answer's start, or the
        # next part of a long one), not the whole exchange: a caller reading a 29 MB report slowly
        # holds a streamed answer back (`relayed`) for as long as it takes, and aiohttp stops the
        # clock while the gateway is not reading.
        self.timeout = aiohttp.ClientTimeout(total=None, connect=3.0, sock_read=timeout)
        self._next = dict.fromkeys(urls, 0)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Made on first use: an aiohttp session belongs to the event loop that runs the app.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100, keepalive_timeout=POOLED_IDLE_SECONDS),
                timeout=self.timeout, auto_decompress=False, skip_auto_headers=NOT_ADDED)
        return self._session

    async def fetch(self, base_url: str, method: str, target: str, *, body: bytes = b"",
                    headers: list[tuple[str, str]] = (), timeout: float | None = None,
                    streamed: bool = False) -> Answer:
        """One request to one replica; `target` is the path and query, already encoded. With
        `streamed`, an answer of more than `STREAMED_ABOVE` bytes or of unknown length comes as
        `chunks`, which hold the connection until they are read to the end or closed."""
        # Passing timeout=None would switch aiohttp's timeout off, so the session's applies unless given.
        limit = aiohttp.ClientTimeout(total=timeout, connect=3.0) if timeout else self.timeout
        resp = await self.session.request(method, URL(base_url + target, encoded=True), data=body or None,
                                          headers=CIMultiDict(headers), timeout=limit, allow_redirects=False)
        headers = list(resp.headers.items())
        chunked = resp.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if streamed and (chunked or (resp.content_length or 0) > STREAMED_ABOVE):
            return Answer(resp.status, headers, b"", relayed(resp))
        try:
            return Answer(resp.status, headers, await resp.read())
        finally:
            resp.release()

    async def request(self, service: str, method: str, target: str, **kwargs) -> Answer:
        bases = self.replicas[service]
        start = self._next[service]
        self._next[service] = (start + 1) % len(bases)
        for i in range(len(bases)):
            try:
                return await self.fetch(bases[(start + i) % len(bases)], method, target, **kwargs)
            except aiohttp.ClientConnectorError:
                if i == len(bases) - 1:
                    raise
        raise aiohttp.ClientConnectionError(f"no replica of {service}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def relayed(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """A streamed answer's body, chunk by chunk. Its connection goes back to the pool once the body
    is read to its end; one left mid-body (the caller went away, the service broke off) is closed."""
    try:
        async for chunk in resp.content.iter_chunked(STREAMED_CHUNK):
            yield chunk
    except BaseException:
        resp.close()
        raise
    resp.release()


async def body_within(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is larger than `limit`: a declared Content-Length
    above it is refused before a byte is read, and a body sent without one stops being read at
    the limit, so a 200 MB upload costs the gateway neither the time nor the memory to read it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class ProxyRoute(Route):
    """The proxy's route: Starlette's, not FastAPI's. A FastAPI route solves its parameters as
    dependencies on every request, which for these two strings cost the gateway about 65 µs of
    CPU per proxied request, against the 35 µs all of this route takes (docs/performance.md). It
    puts itself in the scope as FastAPI's routes do: the metrics, the audit log and the spans read
    the matched route's path there."""

    def __init__(self, path: str, endpoint, *, methods: list[str]):
        super().__init__(path, endpoint, methods=methods, include_in_schema=False)
        self.methods.discard("HEAD")  # Starlette adds it to a GET; the proxy answered 405, as before

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def proxy_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def forward(request: Request) -> Response:
        service, path = request.path_params["service"], request.path_params["path"]
        if service not in SERVICES:
            return problem_for_status(404, f"no API at /api/v1/{service}")
        settings = request.app.state.settings
        limit = settings.max_upload_bytes if path.endswith(":import") else settings.max_body_bytes
        body = await body_within(request, limit)
        if body is None:
            return problem_for_status(413, f"request bodies are limited to {limit} bytes")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                   if k.decode("latin-1").lower() not in HOP_BY_HOP | {"x-request-id", "traceparent"}]
        headers += [("x-request-id", current_request_id.get() or ""),
                    ("traceparent", tracing.traceparent() or "")]
        target = quote(f"/api/v1/{service}/{path}", safe="/:@!$&'()*+,;=-._~")
        if query := request.scope.get("query_string", b"").decode("latin-1"):
            target += f"?{query}"
        try:
            upstream = await request.app.state.upstreams.request(service, request.method, target, body=body,
                                                                 headers=headers, streamed=True)
        except TimeoutError:
            return problem_for_status(504, f"the {service} service did not answer in time")
        except aiohttp.ClientError:
            return problem_for_status(502, f"the {service} service is not reachable right now")
        if upstream.chunks is None:
            response, dropped = Response(upstream.body, status_code=upstream.status), HOP_BY_HOP
        else:
            # A streamed body keeps the length the service declared, if it did, rather than going
            # in chunks: either way the caller can tell a body broken off midway from a whole one.
            response = StreamingResponse(upstream.chunks, status_code=upstream.status)
            dropped = HOP_BY_HOP - {"content-length"}
        for name, value in upstream.headers:
            if name.lower() not in dropped and name.lower() != "x-request-id":
                response.headers.append(name, value)
        return response

    router.routes.append(ProxyRoute("/api/v1/{service}/{path:path}", forward,
                                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return router
