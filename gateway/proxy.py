"""Routing `/api/v1/{budget,procurement,licenses}/…` to the services over pooled HTTP clients."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from kernel.errors import problem_for_status
from kernel.events import current_request_id, current_traceparent

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never passed on.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}

SERVICES = ("budget", "procurement", "licenses")


class Upstreams:
    """One pooled client per service replica; requests go round-robin, and a replica that does not
    accept the connection is skipped (the request never reached it, so trying the next is safe)."""

    def __init__(self, urls: dict[str, str], timeout: float):
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.replicas = {
            name: [httpx.AsyncClient(base_url=u.strip(), timeout=httpx.Timeout(timeout, connect=3.0), limits=limits)
                   for u in url.split(",") if u.strip()]
            for name, url in urls.items()
        }
        self._next = dict.fromkeys(urls, 0)

    @property
    def clients(self) -> dict[str, httpx.AsyncClient]:
        """The first replica of each service (for health checks and the OpenAPI document)."""
        return {name: clients[0] for name, clients in self.replicas.items()}

    async def request(self, service: str, method: str, url: str, **kwargs) -> httpx.Response:
        clients = self.replicas[service]
        start = self._next[service]
        self._next[service] = (start + 1) % len(clients)
        for i in range(len(clients)):
            client = clients[(start + i) % len(clients)]
            try:
                return await client.request(method, url, **kwargs)
            except httpx.ConnectError:
                if i == len(clients) - 1:
                    raise
        raise httpx.ConnectError(f"no replica of {service}")

    async def close(self) -> None:
        for clients in self.replicas.values():
            for client in clients:
                await client.aclose()


def proxy_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/api/v1/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def forward(service: str, path: str, request: Request):
        if service not in SERVICES:
            return problem_for_status(404, f"no API at /api/v1/{service}")
        settings = request.app.state.settings
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return problem_for_status(413, f"request bodies are limited to {settings.max_body_bytes} bytes")
        headers = [(k, v) for k, v in request.headers.raw
                   if k.decode().lower() not in HOP_BY_HOP | {"x-request-id", "traceparent"}]
        headers += [(b"x-request-id", (current_request_id.get() or "").encode()),
                    (b"traceparent", (current_traceparent.get() or "").encode())]
        try:
            upstream = await request.app.state.upstreams.request(
                service, request.method, f"/api/v1/{service}/{path}", params=request.url.query or None,
                content=body, headers=headers)
        except httpx.TimeoutException:
            return problem_for_status(504, f"the {service} service did not answer in time")
        except httpx.TransportError:
            return problem_for_status(502, f"the {service} service is not reachable right now")
        out_headers = {k: v for k, v in upstream.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"}
        return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)

    return router
