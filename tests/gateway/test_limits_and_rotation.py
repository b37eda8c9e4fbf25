"""Rate limits per caller, and signing-key rotation without refusing tokens already issued."""

from __future__ import annotations

import jwt

from tests.gateway.conftest import ADMIN_PASSWORD, token
from tests.support.apps import run_app


async def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(gateway, admin):
    old_kid = jwt.get_unverified_header(admin["Authorization"].split()[1])["kid"]
    rotated = await gateway.client.post("/api/v1/identity/signing-keys/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid and set(rotated.json()["keys"]) == {old_kid, new_kid}

    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert (await gateway.client.get("/api/v1/identity/me", headers=admin)).status_code == 200

    fresh = await token(gateway.client, "admin", ADMIN_PASSWORD)
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    me = await gateway.client.get("/api/v1/identity/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.json()["username"] == "admin"


async def test_over_the_rate_limit_is_a_429_problem_with_retry_after(databases, nats, tmp_path):
    url = await databases.fresh("gateway")
    async with run_app("gateway", database_url=url, nats_url=nats.url, data_dir=tmp_path,
                       admin_password=ADMIN_PASSWORD, rate_per_second=0.5, rate_burst=5) as gw:
        admin = {"Authorization": f"Bearer {await token(gw.client, 'admin', ADMIN_PASSWORD)}"}
        statuses = [(await gw.client.get("/api/v1/identity/me", headers=admin)).status_code for _ in range(5)]
        assert statuses == [200] * 5
        limited = await gw.client.get("/api/v1/identity/me", headers=admin)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) >= 1
        # The IETF draft's headers: the limit, nothing left, and when a request is allowed again.
        assert limited.headers["ratelimit-limit"] == "5" and limited.headers["ratelimit-remaining"] == "0"
        assert limited.headers["ratelimit-reset"] == limited.headers["retry-after"]
        assert limited.json()["type"].endswith("/rate-limited")
        # The limit is per caller: an unauthenticated client has its own bucket.
        assert (await gw.client.get("/.well-known/jwks.json")).status_code == 200


async def test_the_in_process_window_moves_and_forgets_idle_callers():
    from gateway.rate_limits import LocalMovingWindow, per_burst

    now = [1000.0]
    window = LocalMovingWindow(clock=lambda: now[0])
    item = per_burst(rate_per_second=1, burst=3, namespace="requests")  # 3 in any 3 s
    assert [await window.hit(item, "alice") for _ in range(4)] == [True, True, True, False]
    assert await window.hit(item, "bob")  # callers are counted apart
    assert not await window.test(item, "alice")
    stats = await window.get_window_stats(item, "alice")
    assert (stats.reset_time, stats.remaining) == (1003.0, 0)
    now[0] = 1002.5  # still within the window of the first hits
    assert not await window.hit(item, "alice")
    now[0] = 1003.0  # the first three hits left the window
    assert await window.test(item, "alice") and await window.hit(item, "alice")
    assert (await window.get_window_stats(item, "alice")).remaining == 2
    now[0] = 1003.0 + LocalMovingWindow.SWEEP_SECONDS + 1
    await window.test(item, "carol")
    assert set(window.hits) == {item.key_for("carol")}
