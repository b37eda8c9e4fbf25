"""Sign-in that resists guessing without locking out an office: failed sign-ins are limited per
client address, five failures of one username lock it for a while, successful sign-ins are not
limited at all (hundreds of staff behind one NAT address sign in at 9:00)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from pydantic import ValidationError

from gateway.models import User
from gateway.settings import GatewaySettings
from kernel.ids import utcnow
from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import run_app

PASSWORD = "Office-Pass-2026"
# Verifying reads the cost from the hash itself: users made with a cheap hash keep this test about
# the limits, not about how fast this machine computes 300 memory-hard hashes.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@contextlib.asynccontextmanager
async def from_address(gw, address: str):
    transport = httpx.ASGITransport(app=gw.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
        yield client


async def sign_in(gw, address: str, username: str, password: str) -> httpx.Response:
    async with from_address(gw, address) as client:
        return await client.post("/auth/token", data={"username": username, "password": password})


async def office_users(gw, count: int) -> list[str]:
    """`count` users in the root org, written straight to the table with the cheap hash."""
    admin = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
    org_id = uuid.UUID((await gw.client.get("/api/v1/identity/me", headers=admin)).json()["org_id"])
    names = [f"staff{i:03d}" for i in range(count)]
    async with gw.db.session() as session:
        session.add_all(User(username=n, password_hash=CHEAP_HASH, org_id=org_id, roles=["staff"]) for n in names)
        await session.commit()
    return names


async def gateway(databases, nats, tmp_path, **settings):
    url = await databases.fresh("gateway")
    return run_app("gateway", database_url=url, nats_url=nats.url, data_dir=tmp_path, admin_password=ADMIN_PASSWORD,
                   **settings)


async def test_an_office_behind_one_address_signs_in_while_a_guesser_is_stopped(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path) as gw:
        staff = await office_users(gw, 300)
        # A guesser sprays one password across usernames from its address until it is stopped.
        answers = [await sign_in(gw, "203.0.113.9", name, "Summer2026!") for name in staff[:60]]
        codes = [a.status_code for a in answers]
        assert codes[:50] == [401] * 50 and set(codes[50:]) == {429}, codes
        assert answers[50].json()["type"].endswith("/rate-limited") and int(answers[50].headers["retry-after"]) >= 1

        started = time.monotonic()
        semaphore = asyncio.Semaphore(16)

        async def staff_sign_in(name: str) -> httpx.Response:
            async with semaphore:
                return await sign_in(gw, "198.51.100.1", name, PASSWORD)

        office = await asyncio.gather(*(staff_sign_in(name) for name in staff))
        assert [r.status_code for r in office] == [200] * 300, [r.text for r in office if r.status_code != 200][:3]
        assert all(r.json()["access_token"] for r in office)
        assert time.monotonic() - started < 60
        # The guesser is still stopped, even with a right password, and is told when to come back.
        still = await sign_in(gw, "203.0.113.9", staff[0], PASSWORD)
        assert still.status_code == 429 and int(still.headers["retry-after"]) >= 1
        assert still.headers["content-type"] == "application/problem+json"
        # One failure each locked none of the sprayed users.
        assert (await sign_in(gw, "198.51.100.1", staff[1], PASSWORD)).status_code == 200


async def test_five_failures_lock_a_username_with_the_same_401_as_a_wrong_password(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path) as gw:
        [name] = await office_users(gw, 1)
        # Five guesses from five addresses: the per-address limit does not see them, the lockout does.
        wrong = [await sign_in(gw, f"10.0.0.{i}", name, "wrong-guess") for i in range(1, 6)]
        assert [r.status_code for r in wrong] == [401] * 5
        body = wrong[0].json()
        assert body["type"].endswith("/invalid-credentials") and all(r.json() == body for r in wrong)
        # Locked: the right password answers exactly as a wrong one, as does an unknown user.
        locked = await sign_in(gw, "10.0.0.6", name, PASSWORD)
        assert locked.status_code == 401 and locked.json() == body
        unknown = await sign_in(gw, "10.0.0.6", "nobody-here", PASSWORD)
        assert unknown.status_code == 401 and unknown.json() == body
        async with gw.db.session() as session:
            user = (await session.execute(sa.select(User).where(User.username == name))).scalar_one()
            assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)
            # Fifteen minutes later (moved back rather than waited for) the user signs in again.
            user.locked_until = utcnow() - timedelta(seconds=1)
            await session.commit()
        assert (await sign_in(gw, "10.0.0.6", name, PASSWORD)).status_code == 200
        # Another admin's user is not held back by someone guessing at this one.
        assert (await sign_in(gw, "10.0.0.6", "admin", ADMIN_PASSWORD)).status_code == 200


async def test_failures_older_than_the_window_do_not_count_and_a_success_forgets_them(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path) as gw:
        [name] = await office_users(gw, 1)
        for _ in range(4):
            assert (await sign_in(gw, "10.0.1.1", name, "wrong-guess")).status_code == 401
        async with gw.db.session() as session:
            await session.execute(sa.update(User).where(User.username == name)
                                  .values(failures_since=utcnow() - timedelta(minutes=16)))
            await session.commit()
        # The fifth failure falls in a new window: counted as the first, no lock.
        assert (await sign_in(gw, "10.0.1.1", name, "wrong-guess")).status_code == 401
        assert (await sign_in(gw, "10.0.1.1", name, PASSWORD)).status_code == 200
        for _ in range(4):
            assert (await sign_in(gw, "10.0.1.1", name, "wrong-guess")).status_code == 401
        assert (await sign_in(gw, "10.0.1.1", name, PASSWORD)).status_code == 200
        async with gw.db.session() as session:
            user = (await session.execute(sa.select(User).where(User.username == name))).scalar_one()
            assert (user.failed_sign_ins, user.failures_since, user.locked_until) == (0, None, None)


async def test_parallel_guesses_all_count_and_lock_once(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path, lockout_failures=5) as gw:
        [name] = await office_users(gw, 1)
        guesses = await asyncio.gather(*(sign_in(gw, f"10.0.2.{i}", name, f"guess-{i}") for i in range(12)))
        assert [g.status_code for g in guesses] == [401] * 12
        assert (await sign_in(gw, "10.0.2.99", name, PASSWORD)).status_code == 401
        async with gw.db.session() as session:
            user = (await session.execute(sa.select(User).where(User.username == name))).scalar_one()
            assert user.locked_until is not None and user.locked_until > utcnow()


async def test_failed_sign_ins_per_address_answer_429_with_retry_after(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path, failed_sign_ins_per_address="3 per 10 minutes") as gw:
        codes = [(await sign_in(gw, "10.0.3.1", f"user{i}", "wrong")).status_code for i in range(3)]
        assert codes == [401, 401, 401]
        refused = await sign_in(gw, "10.0.3.1", "admin", ADMIN_PASSWORD)
        assert refused.status_code == 429 and refused.json()["type"].endswith("/rate-limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert refused.headers["ratelimit-limit"] == "3" and refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
        # Another address is not held back.
        assert (await sign_in(gw, "10.0.3.2", "admin", ADMIN_PASSWORD)).status_code == 200


async def sign_in_via(gw, peer: str, forwarded_for: str, username: str, password: str) -> httpx.Response:
    async with from_address(gw, peer) as client:
        return await client.post("/auth/token", data={"username": username, "password": password},
                                 headers={"X-Forwarded-For": forwarded_for})


async def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(databases, nats, tmp_path):
    async with await gateway(databases, nats, tmp_path, failed_sign_ins_per_address="2 per 10 minutes",
                             trusted_proxies="10.8.0.1, 10.9.0.0/16") as gw:
        # Behind a trusted proxy each client is counted apart: two failures of one client…
        for _ in range(2):
            assert (await sign_in_via(gw, "10.8.0.1", "198.51.100.7", "x", "wrong")).status_code == 401
        assert (await sign_in_via(gw, "10.9.3.4", "198.51.100.7", "admin", ADMIN_PASSWORD)).status_code == 429
        # …hold back that client only, not the proxy's other clients.
        assert (await sign_in_via(gw, "10.8.0.1", "198.51.100.8", "admin", ADMIN_PASSWORD)).status_code == 200
        # A client cannot pass itself off as another by writing the header itself: the proxy
        # appends the address it saw, and that entry is the one taken.
        forged = await sign_in_via(gw, "10.8.0.1", "198.51.100.8, 198.51.100.7", "admin", ADMIN_PASSWORD)
        assert forged.status_code == 429

        # From an untrusted peer the header is ignored: a guesser writing a new address into every
        # request is still counted at its own socket address.
        codes = [(await sign_in_via(gw, "192.0.2.5", f"203.0.113.{i}", "x", "wrong")).status_code for i in range(3)]
        assert codes == [401, 401, 429]
        assert (await sign_in_via(gw, "192.0.2.6", "192.0.2.5", "admin", ADMIN_PASSWORD)).status_code == 200


async def test_a_trusted_proxy_setting_that_is_not_an_address_refuses_to_start():
    for bad in ("*", "proxy.example", "10.0.0.300"):
        with pytest.raises(ValidationError):
            GatewaySettings(trusted_proxies=bad)
    assert GatewaySettings(trusted_proxies="10.0.0.1, fd00::/8").trusted_proxy_list == ["10.0.0.1", "fd00::/8"]
