"""Several gateways act as one: rate limits shared in Redis, console sessions every replica knows
(in the database, or in Redis) and that outlive a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import run_app
from zhengban.ports import free_port

REDIS_URL = os.environ.get("ZHENGBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


async def sign_in_to_console(client: httpx.AsyncClient) -> str:
    """Signs admin in through the console's form; returns the session cookie's value."""
    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    resp = await client.post("/console/login", data={"csrf": csrf, "username": "admin", "password": ADMIN_PASSWORD,
                                                     "next": "/console/"},
                             headers={"Cookie": f"zb_login_csrf={page.cookies['zb_login_csrf']}"})
    assert resp.status_code == 303, resp.text
    return resp.cookies["zb_console"]


async def console_home(client: httpx.AsyncClient, session_id: str) -> httpx.Response:
    return await client.get("/console/", headers={"Cookie": f"zb_console={session_id}"})


def signed_in_as_admin(page: httpx.Response) -> bool:
    """The page is for a signed-in admin (the services are not running here, so the home page
    itself answers 502 with the problem, but signed in: not sent back to the sign-in form)."""
    return page.status_code != 303 and 'action="/console/logout"' in page.text and "admin" in page.text


async def test_a_console_session_works_on_another_gateway_on_the_same_database(databases, nats, tmp_path):
    url = await databases.fresh("gateway")
    settings = dict(database_url=url, nats_url=nats.url, data_dir=tmp_path, admin_password=ADMIN_PASSWORD,
                    budget_url="http://127.0.0.1:9", procurement_url="http://127.0.0.1:9",
                    licenses_url="http://127.0.0.1:9")
    async with run_app("gateway", **settings) as one, run_app("gateway", **settings) as two:
        session_id = await sign_in_to_console(one.client)
        home = await console_home(two.client, session_id)
        assert signed_in_as_admin(home)
        # Signing out on the second ends it on the first too.
        csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
        out = await two.client.post("/console/logout", data={"csrf": csrf},
                                    headers={"Cookie": f"zb_console={session_id}"})
        assert out.status_code == 303
        gone = await console_home(one.client, session_id)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")


class GatewayProcess:
    """`zhengban serve gateway` as its own process."""

    def __init__(self, env: dict[str, str], port: int, log_path):
        self.env, self.port, self.log_path = env, port, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "zhengban", "serve", "gateway", "--port", str(self.port)],
                env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.spawn()
        deadline = asyncio.get_running_loop().time() + 60
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while True:
                assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                assert asyncio.get_running_loop().time() < deadline, "the gateway did not start"
                await asyncio.sleep(0.25)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
async def two_gateways(databases, nats, tmp_path):
    if not redis_answers():
        pytest.fail(f"these tests need Redis at {REDIS_URL} (set ZHENGBAN_TEST_REDIS_URL)")
    url = await databases.fresh("gateway")
    env = {
        "ZHENGBAN_GATEWAY_DATABASE_URL": url, "ZHENGBAN_GATEWAY_NATS_URL": nats.url,
        "ZHENGBAN_GATEWAY_DATA_DIR": str(tmp_path), "ZHENGBAN_GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ZHENGBAN_REDIS_URL": REDIS_URL,
        # Keys of this test only: parallel runs share the Redis server.
        "ZHENGBAN_GATEWAY_REDIS_KEY_PREFIX": f"zbtest-{uuid.uuid4().hex}",
        # 100 requests per caller in any 200 s: the test makes them quickly, half on each gateway.
        "ZHENGBAN_GATEWAY_RATE_PER_SECOND": "0.5", "ZHENGBAN_GATEWAY_RATE_BURST": "100",
        "ZHENGBAN_GATEWAY_RUN_BACKGROUND": "false",
        **{f"ZHENGBAN_GATEWAY_{name}_URL": "http://127.0.0.1:9" for name in ("BUDGET", "PROCUREMENT", "LICENSES")},
    }
    gateways = [GatewayProcess(env, free_port(), tmp_path / f"gateway-{i}.log") for i in (1, 2)]
    try:
        # One after the other: two gateways starting at once on a fresh database each make a first
        # signing key, and each trusts the other's only after its next reload.
        for gateway in gateways:
            await gateway.start()
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()


async def test_two_gateway_processes_share_console_sessions_and_rate_limits(two_gateways):
    one, two = two_gateways
    async with httpx.AsyncClient(base_url=one.url, timeout=10) as a, httpx.AsyncClient(base_url=two.url,
                                                                                         timeout=10) as b:
        session_id = await sign_in_to_console(a)
        home = await console_home(b, session_id)
        assert signed_in_as_admin(home)

    two.stop()
    await two.start()
    async with httpx.AsyncClient(base_url=one.url, timeout=10) as a, httpx.AsyncClient(base_url=two.url,
                                                                                         timeout=10) as b:
        again = await console_home(b, session_id)
        assert signed_in_as_admin(again)

        # The console's own API calls above used a few of admin's 100 requests.
        admin = {"Authorization": f"Bearer {await token(a, 'admin', ADMIN_PASSWORD)}"}
        statuses = {"a": [], "b": []}
        for _ in range(50):
            statuses["a"].append((await a.get("/api/v1/identity/me", headers=admin)).status_code)
            statuses["b"].append((await b.get("/api/v1/identity/me", headers=admin)).status_code)
        allowed = statuses["a"].count(200) + statuses["b"].count(200)
        # Counted per process each would allow 100 (all of these); together they allow 100 in all.
        assert 90 <= allowed < 100, statuses
        for client in (a, b):
            limited = await client.get("/api/v1/identity/me", headers=admin)
            assert limited.status_code == 429 and limited.json()["type"].endswith("/rate-limited")
