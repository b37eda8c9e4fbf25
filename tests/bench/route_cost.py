"""CPU per request of FastAPI's layers on the hot path, through ASGI in-process (no server, no
database): a dependency written as a plain `def` (run in FastAPI's thread pool) against the same as
`async def`, and the gateway's proxy route as a FastAPI route against Starlette's `Route`
(docs/performance.md, "Hot path and delivery → seats"). Not a test; run from the repository's root:

    .venv/bin/python -m tests.bench.route_cost
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Route

CALLS = 3000
app = FastAPI()
app.state.thing = object()


def plain_dependency(request: Request):
    return request.app.state.thing


async def async_dependency(request: Request):
    return request.app.state.thing


@app.post("/dependency/plain", status_code=201)
async def with_plain(thing: Annotated[object, Depends(plain_dependency)]):
    return Response(b"{}", status_code=201)


@app.post("/dependency/async", status_code=201)
async def with_async(thing: Annotated[object, Depends(async_dependency)]):
    return Response(b"{}", status_code=201)


router = APIRouter(include_in_schema=False)


@router.api_route("/fastapi/{service}/{path:path}", methods=["GET", "POST"])
async def forward(service: str, path: str, request: Request):
    return Response(b"{}", status_code=201)


async def forward_plain(request: Request):
    _service, _path = request.path_params["service"], request.path_params["path"]
    return Response(b"{}", status_code=201)


app.router.routes.extend(router.routes)
app.router.routes.append(Route("/starlette/{service}/{path:path}", forward_plain, methods=["GET", "POST"]))


async def call(path: str) -> None:
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "http_version": "1.1", "scheme": "http",
             "server": ("test", 80), "client": ("test", 1), "root_path": "", "app": app}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 201, sent


async def main() -> None:
    paths = ["/dependency/plain", "/dependency/async", "/fastapi/licenses/pools/p/allocations",
             "/starlette/licenses/pools/p/allocations"]
    for path in paths:
        await call(path)
    costs: dict[str, list[float]] = {path: [] for path in paths}
    for _round in range(3):  # alternating, so that a busy moment of the machine falls on each
        for path in paths:
            started = time.process_time()
            for _ in range(CALLS):
                await call(path)
            costs[path].append((time.process_time() - started) / CALLS * 1e6)
    for path, each in costs.items():
        print(f"{path:45} {' '.join(f'{c:.0f}' for c in each)} µs CPU per request")


if __name__ == "__main__":
    asyncio.run(main())
