import contextlib

import pytest

from tests.support.apps import run_app

ADMIN_PASSWORD = "admin-pass-for-tests"


@contextlib.asynccontextmanager
async def gateway_app(databases, nats, tmp_path, **settings):
    """The gateway in-process on a fresh database; its upstreams point at closed ports."""
    url = await databases.fresh("gateway")
    async with run_app("gateway", database_url=url, nats_url=nats.url, data_dir=tmp_path,
                       admin_password=ADMIN_PASSWORD, budget_url="http://127.0.0.1:9",
                       procurement_url="http://127.0.0.1:9", licenses_url="http://127.0.0.1:9",
                       **settings) as running:
        yield running


@pytest.fixture
async def gateway(databases, nats, tmp_path):
    async with gateway_app(databases, nats, tmp_path) as running:
        yield running


async def token(client, username: str, password: str) -> str:
    resp = await client.post("/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


@pytest.fixture
async def admin(gateway):
    tok = await token(gateway.client, "admin", ADMIN_PASSWORD)
    return {"Authorization": f"Bearer {tok}"}
