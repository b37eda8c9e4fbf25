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


async def test_a_request_with_the_key_of_one_in_flight_waits_for_it_and_replays_its_answer(app_client, tree):
    client, app = app_client
    headers = {**tree.actor("dept_a", "it_admin").headers, "Idempotency-Key": "slow"}
    app.state.gate.clear()
    first = asyncio.create_task(client.post("/things", json={"name": "a"}, headers=headers))
    await asyncio.wait_for(app.state.entered.wait(), 10)
    second = asyncio.create_task(client.post("/things", json={"name": "a"}, headers=headers))
    await asyncio.sleep(0.2)
    assert not second.done()  # it waits for the first rather than run the work again
    app.state.gate.set()
    first, second = await first, await second
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"number": 1, "name": "a"}
    assert second.headers["idempotent-replayed"] == "true"


LINE = {"fiscal_year": 2026, "category": "office", "title": "办公软件正版化", "quantity": 2, "unit_price_fen": 50_000}


async def test_racing_requests_with_one_key_make_one_object_across_processes(start_service, tree):
    """Two budget processes on one database, ten requests with one key at once, three times: one line
    each time, and every request answers with it. On PostgreSQL each process runs the work and the
    losers' transactions roll back on the key's row; in one process the others wait for the first."""
    first = await start_service("budget")
    second = await start_service("budget", database_url=first.database_url)
    editor = tree.actor("dept_a", "budget_editor")
    for round_ in range(3):
        headers = {**editor.headers, "Idempotency-Key": f"race-{round_}"}
        body = {**LINE, "org_id": str(tree["dept_a"].id), "title": f"并发 {round_}"}
        answers = await asyncio.gather(*(
            (first if n % 2 else second).client.post("/api/v1/budget/lines", json=body, headers=headers)
            for n in range(10)))
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert len({a.content for a in answers}) == 1
        assert sum(1 for a in answers if "idempotent-replayed" not in a.headers) == 1
        lines = (await first.client.get("/api/v1/budget/lines", params={"org_id": str(tree["dept_a"].id)},
                                        headers=editor.headers)).json()["items"]
        assert [line["id"] for line in lines if line["title"] == body["title"]] == [answers[0].json()["id"]]

