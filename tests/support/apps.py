"""Running a process's app in the test's event loop, on a real database and a real NATS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from zhengban.ports import free_port
from zhengban.processes import app_module


@dataclass
class RunningApp:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    database_url: str

    @property
    def db(self):
        return self.app.state.db


@contextlib.asynccontextmanager
async def run_app(process: str, *, database_url: str, nats_url: str, static_jwks: dict | None = None,
                  **settings):
    module = app_module(process)
    config = module.SETTINGS(database_url=database_url, nats_url=nats_url, **settings)
    app = module.create_app(config, static_jwks=static_jwks) if static_jwks is not None else module.create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield RunningApp(process, app, client, database_url)


async def eventually(check: Callable[[], Awaitable[object]], *, timeout: float = 10, interval: float = 0.05):
    """Polls `check` until it returns something truthy (and returns it), or fails after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        if asyncio.get_running_loop().time() > deadline:
            if last_error:
                raise last_error
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int | None = None, *, lifespan: str = "auto") -> AsyncIterator[str]:
    """Serves `app` over real HTTP on a free local port, or `port` (an upstream for the gateway's
    pooled client, which speaks HTTP, not ASGI); yields its base URL. `lifespan="off"` for an app
    already started (`run_app`)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():  # it failed to start (a port taken, an import error): show why, at once
            task.result()
            raise AssertionError("the upstream stopped before it started")
        return server.started  # uvicorn exposes only a flag

    await eventually(started, timeout=30)  # an upstream that never starts fails the test, not hangs it
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def put_as_read(client: httpx.AsyncClient, path: str, *, headers: dict, json: dict) -> httpx.Response:
    """A PUT as a person makes it: read the object, then write it with the version read (If-Match)."""
    read = await client.get(path, headers=headers)
    return await client.put(path, headers={**headers, "If-Match": read.headers.get("etag", "")}, json=json)
