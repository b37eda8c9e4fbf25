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
    def __init__(self, urls: dict[str, str], timeout: float):
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.clients = {
            name: httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(timeout, connect=3.0), limits=limits)
            for name, url in urls.items()
        }

    async def close(self) -> None:
        for client in self.clients.values():
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
        client: httpx.AsyncClient = request.app.state.upstreams.clients[service]
        try:
            upstream = await client.request(
                request.method, f"/api/v1/{service}/{path}", params=request.url.query or None,
                content=body, headers=headers)
        except httpx.TimeoutException:
            return problem_for_status(504, f"the {service} service did not answer in time")
        except httpx.TransportError:
            return problem_for_status(502, f"the {service} service is not reachable right now")
        out_headers = {k: v for k, v in upstream.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"}
        return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)

    return router
