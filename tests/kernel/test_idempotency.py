"""Idempotency-Key semantics (IETF draft), on a small app that uses the kernel middleware and a real database."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from fastapi import FastAPI, Request

from kernel.db import Database
from kernel.errors import install_problem_handlers
from kernel.idempotency import IdempotencyMiddleware
from kernel.service_app import make_verifier, principal_subject
from kernel.settings import ProcessSettings


@pytest.fixture
async def app_client(databases, keys):
    db = Database(await databases.fresh("budget"))
    counter = itertools.count(1)
    gate = asyncio.Event()
    app = FastAPI()
    app.state.verifier = make_verifier(ProcessSettings(), static_jwks=keys.jwks)
    app.state.gate = gate
    app.state.entered = asyncio.Event()
    gate.set()

    @app.post("/things", status_code=201)
    async def create_thing(request: Request):
        body = await request.json()
        request.app.state.entered.set()
        await request.app.state.gate.wait()
        if body.get("fail"):
            raise RuntimeError("boom")
        return {"number": next(counter), **body}

    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, db=db, scope_of=principal_subject)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, app
    await db.dispose()


async def test_same_key_and_body_returns_the_first_response(app_client, tree):
    client, _ = app_client
    user = tree.actor("dept_a", "it_admin")
    headers = {**user.headers, "Idempotency-Key": "k-1"}
    first = await client.post("/things", json={"name": "a"}, headers=headers)
    again = await client.post("/things", json={"name": "a"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"number": 1, "name": "a"}
    assert again.headers["idempotent-replayed"] == "true"
    other_key = await client.post("/things", json={"name": "a"}, headers={**user.headers, "Idempotency-Key": "k-2"})
    assert other_key.json()["number"] == 2


async def test_same_key_with_another_body_is_422(app_client, tree):
    client, _ = app_client
    headers = {**tree.actor("dept_a", "it_admin").headers, "Idempotency-Key": "k"}
    await client.post("/things", json={"name": "a"}, headers=headers)
    reused = await client.post("/things", json={"name": "b"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["type"].endswith("/idempotency-key-reused")


async def test_same_key_while_the_first_is_in_flight_is_409(app_client, tree):
    client, app = app_client
    headers = {**tree.actor("dept_a", "it_admin").headers, "Idempotency-Key": "slow"}
    app.state.gate.clear()
    first = asyncio.create_task(client.post("/things", json={"name": "a"}, headers=headers))
    await asyncio.wait_for(app.state.entered.wait(), 10)
    conflict = await client.post("/things", json={"name": "a"}, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("/idempotency-key-in-flight")
    app.state.gate.set()
    assert (await first).status_code == 201


async def test_keys_are_scoped_to_the_caller(app_client, tree):
    client, _ = app_client
    alice, bob = tree.actor("dept_a", "it_admin"), tree.actor("dept_b", "it_admin")
    a = await client.post("/things", json={"name": "x"}, headers={**alice.headers, "Idempotency-Key": "same"})
    b = await client.post("/things", json={"name": "x"}, headers={**bob.headers, "Idempotency-Key": "same"})
    assert a.json()["number"] != b.json()["number"]
    assert "idempotent-replayed" not in b.headers


async def test_a_server_error_is_not_kept_so_the_client_may_retry(app_client, tree):
    client, _ = app_client
    headers = {**tree.actor("dept_a", "it_admin").headers, "Idempotency-Key": "retry-me"}
    failed = await client.post("/things", json={"fail": True}, headers=headers)
    assert failed.status_code == 500
    retried = await client.post("/things", json={"fail": True}, headers=headers)
    assert retried.status_code == 500 and "idempotent-replayed" not in retried.headers
