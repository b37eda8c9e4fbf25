"""Errors that are not the caller's fault still reach it as problem+json, with what to do next."""

from __future__ import annotations

import httpx
import sqlalchemy.exc
from fastapi import FastAPI

from kernel.errors import install_problem_handlers


async def test_an_exhausted_connection_pool_is_a_503_to_retry_not_a_500():
    app = FastAPI()

    @app.get("/busy")
    async def busy():
        # What SQLAlchemy raises when no pooled connection came free within the pool's timeout.
        raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 0 reached")

    install_problem_handlers(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        resp = await client.get("/busy")
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/unavailable") and "QueuePool" not in resp.text


async def test_a_connection_the_database_closed_is_a_503_to_retry_and_other_database_errors_stay_500():
    app = FastAPI()

    @app.get("/gone")
    async def gone():
        # What SQLAlchemy raises when the server closed the connection a statement ran on.
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, ConnectionResetError("connection lost"),
                                        connection_invalidated=True)

    @app.get("/broken")
    async def broken():
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, ValueError("a bug"), connection_invalidated=False)

    install_problem_handlers(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        gone_resp, broken_resp = await client.get("/gone"), await client.get("/broken")
    assert gone_resp.status_code == 503 and gone_resp.headers["retry-after"] == "1"
    assert gone_resp.headers["content-type"] == "application/problem+json"
    assert gone_resp.json()["detail"] == "the database connection was lost; try again"
    assert "connection lost" not in gone_resp.text
    assert broken_resp.status_code == 500 and broken_resp.json()["type"].endswith("/internal-error")
