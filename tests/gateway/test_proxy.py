"""What the gateway passes on to a service, over real HTTP to an upstream that echoes what it got."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from gateway.proxy import STREAMED_ABOVE
from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import eventually, run_app, serving

# A large answer, past what the gateway reads whole before passing it on (`STREAMED_ABOVE`).
LARGE = bytes(range(256)) * (3 << 12)  # 3 MiB
# More than the sockets and the gateway buffer between a service and a caller that stops reading.
HUGE = b"x" * (48 << 20)
rest_of_large: asyncio.Event  # set: the upstream sends the second half of the large answer (new per test)
huge_sent = {"bytes": 0, "at": 0.0}  # how much of the huge answer the upstream has sent, and when it last could


@contextlib.asynccontextmanager
async def echo_upstream():
    global rest_of_large
    app = FastAPI()
    released = asyncio.Event()  # set when the test is over: the slow answer comes only then
    rest_of_large = asyncio.Event()  # an event belongs to its test's event loop

    @app.get("/api/v1/budget/slow")
    async def slow():
        await released.wait()
        return {}

    @app.get("/api/v1/budget/large")
    async def large(broken: bool = False, declared: bool = True):
        async def halves():
            yield LARGE[:len(LARGE) // 2]
            if broken:
                raise RuntimeError("the service broke off its answer")
            await rest_of_large.wait()
            yield LARGE[len(LARGE) // 2:]

        # Declared, its length is sent; undeclared, the answer goes in chunks (an export's CSV).
        return StreamingResponse(halves(), media_type="application/octet-stream",
                                 headers={"content-length": str(len(LARGE))} if declared else None)

    @app.get("/api/v1/budget/huge")
    async def huge():
        async def pieces():
            huge_sent.update(bytes=0, at=asyncio.get_running_loop().time())
            for start in range(0, len(HUGE), 1 << 20):
                yield HUGE[start:start + (1 << 20)]
                huge_sent.update(bytes=start + (1 << 20), at=asyncio.get_running_loop().time())

        return StreamingResponse(pieces(), media_type="application/octet-stream",
                                 headers={"content-length": str(len(HUGE))})

    @app.api_route("/api/v1/budget/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request):
        return {"path": path, "query": request.url.query, "headers": dict(request.headers),
                "body": (await request.body()).decode()}

    @app.get("/readyz")
    async def ready():
        return {"status": "ready"}

    async with serving(app) as url:
        try:
            yield url
        finally:
            released.set()


@pytest.fixture
async def proxied(databases, nats, tmp_path):
    async with echo_upstream() as upstream:
        url = await databases.fresh("gateway")
        async with run_app("gateway", database_url=url, nats_url=nats.url, data_dir=tmp_path,
                           admin_password=ADMIN_PASSWORD, budget_url=upstream, max_body_bytes=1000,
                           upstream_timeout_seconds=1) as gw:
            admin = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
            yield gw, admin


async def test_identity_headers_and_hop_by_hop_headers_are_not_passed_on(proxied):
    gw, admin = proxied
    resp = await gw.client.get("/api/v1/budget/lines?fiscal_year=2026", headers={
        **admin, "X-Principal": "admin", "X-Org-Id": "forged", "X-Roles": "admin", "Connection": "keep-alive",
        "Proxy-Authorization": "Basic eA==", "X-Request-Id": "req-123", "Accept-Language": "zh-CN"})
    echoed = resp.json()
    assert echoed["path"] == "lines" and echoed["query"] == "fiscal_year=2026"
    sent = echoed["headers"]
    for header in ("x-principal", "x-org-id", "x-roles", "proxy-authorization"):
        assert header not in sent
    assert sent["authorization"] == admin["Authorization"]
    assert sent["x-request-id"] == "req-123" and sent["accept-language"] == "zh-CN"
    assert len(sent["traceparent"]) == 55 and sent["traceparent"].startswith("00-")
    assert resp.headers["x-request-id"] == "req-123"


async def test_an_api_key_reaches_the_service_as_a_short_lived_token(proxied):
    gw, admin = proxied
    me = (await gw.client.get("/api/v1/identity/me", headers=admin)).json()
    key = (await gw.client.post("/api/v1/identity/api-keys", headers=admin,
                                json={"name": "s", "org_id": me["org_id"], "roles": ["it_admin"]})).json()
    echoed = (await gw.client.get("/api/v1/budget/x", headers={"Authorization": f"Bearer {key['key']}"})).json()
    forwarded = echoed["headers"]["authorization"].split()[1]
    assert key["key"] not in echoed["headers"]["authorization"]
    claims = jwt.decode(forwarded, options={"verify_signature": False})
    assert claims["kind"] == "api_key" and claims["sub"] == key["id"] and claims["roles"] == ["it_admin"]
    assert claims["exp"] - claims["iat"] <= 120


async def test_large_bodies_are_refused_with_413(proxied):
    gw, admin = proxied
    resp = await gw.client.post("/api/v1/budget/lines", headers=admin, content=b"x" * 1001)
    assert resp.status_code == 413 and resp.json()["type"].endswith("/payload-too-large")
    ok = await gw.client.post("/api/v1/budget/lines", headers=admin, content=b"x" * 1000)
    assert ok.status_code == 200 and len(ok.json()["body"]) == 1000


async def test_a_body_past_the_limit_is_refused_without_being_read_to_its_end(proxied):
    """A 200 MB upload is not read whole before its 413: sent without a length (chunked), the
    gateway stops reading at the limit; the chunks after it are never asked for."""
    gw, admin = proxied
    sent = 0

    async def endless():
        nonlocal sent
        for _ in range(200_000):  # 200 MB, were it all read
            sent += 1
            yield b"x" * 1000

    resp = await gw.client.post("/api/v1/budget/lines", headers=admin, content=endless())
    assert resp.status_code == 413 and resp.json()["type"].endswith("/payload-too-large")
    assert sent < 10


async def test_security_headers_and_unknown_api(proxied):
    gw, admin = proxied
    resp = await gw.client.get("/api/v1/nothing/here", headers=admin)
    assert resp.status_code == 404 and resp.json()["type"].endswith("/not-found")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


async def test_a_slow_service_is_a_504_problem_and_paths_arrive_as_sent(proxied):
    gw, admin = proxied
    slow = await gw.client.get("/api/v1/budget/slow", headers=admin)
    assert slow.status_code == 504 and slow.json()["type"].endswith("/upstream-timeout")
    echoed = (await gw.client.get("/api/v1/budget/a%20b/%E6%AD%A3%E7%89%88?q=%E4%B8%AD&x=1", headers=admin)).json()
    assert echoed["path"] == "a b/正版" and echoed["query"] == "q=%E4%B8%AD&x=1"


async def test_a_proxied_request_is_counted_under_the_proxy_route_and_head_is_not_proxied(proxied):
    # The proxy's route is Starlette's (gateway/proxy.py): it must still name itself in the scope,
    # where the metrics, the audit log and the spans read the matched route's path.
    gw, admin = proxied
    assert (await gw.client.post("/api/v1/budget/counted", headers=admin, json={})).json()["path"] == "counted"
    assert (await gw.client.head("/api/v1/budget/counted", headers=admin)).status_code == 405
    metrics = (await gw.client.get("/metrics")).text
    # (The registry is the test process's: other tests' apps count there too, hence no check of "unmatched".)
    assert ('zhengban_http_requests_total{method="POST",route="/api/v1/{service}/{path:path}",status="200"}'
            in metrics)


@pytest.mark.parametrize("declared", [True, False], ids=["length declared", "in chunks"])
async def test_a_large_answer_is_passed_on_as_it_arrives_and_whole(proxied, declared):
    """Past `STREAMED_ABOVE` bytes, or sent in chunks, the gateway passes an answer on while the
    service is still sending it: here the service sends its second half only once the caller has
    the first. Were the gateway to read it whole first, it would wait for the service (a 504 after
    the gateway's upstream timeout of 1 s) and the caller for the gateway."""
    gw, admin = proxied
    assert len(LARGE) > STREAMED_ABOVE
    async with serving(gw.app, lifespan="off") as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        async with client.stream("GET", f"/api/v1/budget/large?declared={declared}", headers=admin) as resp:
            assert resp.status_code == 200
            if declared:
                assert resp.headers["content-length"] == str(len(LARGE))
            else:
                assert "content-length" not in resp.headers and resp.headers["transfer-encoding"] == "chunked"
            assert resp.headers["content-type"] == "application/octet-stream"
            assert resp.headers["x-content-type-options"] == "nosniff"
            received = bytearray()
            async for chunk in resp.aiter_raw():
                received += chunk
                if len(received) >= len(LARGE) // 2:
                    rest_of_large.set()
        assert bytes(received) == LARGE
        # The connection to the service went back to the pool, and serves the next request.
        assert (await client.get("/api/v1/budget/after", headers=admin)).json()["path"] == "after"


async def test_a_caller_reading_slowly_gets_a_large_answer_whole(proxied):
    """The upstream timeout (1 s here) bounds how long the service keeps the gateway waiting, not
    how long the caller takes to read: a caller that stops reading for longer than it, once the
    buffers between it and the service are full, still gets the whole answer."""
    gw, admin = proxied

    async def held_back_past_the_timeout() -> bool:
        return asyncio.get_running_loop().time() - huge_sent["at"] > 1.5

    async with serving(gw.app, lifespan="off") as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        async with client.stream("GET", "/api/v1/budget/huge", headers=admin) as resp:
            assert resp.status_code == 200
            chunks = resp.aiter_raw()
            received = len(await anext(chunks))
            # The caller reads nothing more until the full buffers between it and the service have
            # held the service back for longer than the gateway's upstream timeout.
            await eventually(held_back_past_the_timeout, timeout=10)
            assert huge_sent["bytes"] < len(HUGE)  # held back indeed, not done
            async for chunk in chunks:
                received += len(chunk)
        assert received == len(HUGE)


@pytest.mark.parametrize("declared", [True, False], ids=["length declared", "in chunks"])
async def test_a_large_answer_the_service_breaks_off_reaches_the_caller_broken(proxied, declared):
    """A streamed answer keeps its declared length, or its chunks: a body broken off midway is an
    error to the caller, never a shorter answer that looks whole."""
    gw, admin = proxied
    async with serving(gw.app, lifespan="off") as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"/api/v1/budget/large?broken=true&declared={declared}", headers=admin)
        assert (await client.get("/api/v1/budget/after", headers=admin)).json()["path"] == "after"


def test_the_gateway_lets_an_idle_connection_go_before_a_service_closes_it():
    """A request sent on a pooled connection the service is closing fails before any answer (a 502
    "not reachable"): the gateway's pool must drop an idle connection well before the services'
    uvicorn does, with a margin for a busy event loop on either side."""
    from gateway.proxy import POOLED_IDLE_SECONDS
    from zhengban.cli import KEEP_ALIVE_SECONDS

    assert POOLED_IDLE_SECONDS + 2 <= KEEP_ALIVE_SECONDS
