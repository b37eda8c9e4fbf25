"""Group commit with two replicas of the licenses service: each batches its own requests, the
database decides between them, and a pool of k seats still gives exactly k."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.slow

API = "/api/v1/licenses"


def test_two_replicas_batching_one_pool_give_exactly_its_seats(tmp_path):
    stack = RunningStack(tmp_path / "data", extra_args=["--replicas", "2"])
    stack.start(timeout=180)
    try:
        replicas = stack.service_urls("licenses")
        assert len(replicas) == 2
        headers = stack.token()
        asyncio.run(race(stack.url, replicas, headers))
    finally:
        stack.close()


async def race(gateway: str, replicas: list[str], headers: dict) -> None:
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=60) as api:
        org = (await api.get("/api/v1/identity/me")).json()["org_id"]
        for round_, seats in enumerate((11, 1, 30)):
            # Each round's devices are its own: a computer holds one office seat (98号), so a device
            # seated in an earlier round would be refused for its category, not for want of seats.
            devices = []
            for n in range(48):
                resp = await api.post(f"{API}/devices", json={"org_id": org, "asset_tag": f"REP-{round_}-{n:03d}",
                                                              "hostname": f"rep-{round_}-{n}", "kind": "desktop"})
                assert resp.status_code == 201, resp.text
                devices.append(resp.json()["id"])
            entitlement = await api.post(f"{API}/entitlements", json={
                "org_id": org, "product_name": f"replicas-{round_}", "vendor": "e2e", "category": "office",
                "metric": "device", "quantity": seats, "source": "manual"})
            assert entitlement.status_code == 201, entitlement.text
            pool_id = entitlement.json()["pool_id"]
            clients = [httpx.AsyncClient(base_url=url, headers=headers, timeout=60) for url in replicas]
            try:
                # Half of the requests to each replica, all at once.
                answers = await asyncio.gather(*(
                    clients[n % 2].post(f"{API}/pools/{pool_id}/allocations",
                                        json={"assignee_type": "device", "assignee_id": device})
                    for n, device in enumerate(devices)))
            finally:
                for client in clients:
                    await client.aclose()
            assert Counter(a.status_code for a in answers) == {201: seats, 409: 48 - seats}, \
                [a.text for a in answers if a.status_code not in (201, 409)][:3]
            assert len({a.json()["id"] for a in answers if a.status_code == 201}) == seats
            assert {a.json()["type"].rsplit("/", 1)[1] for a in answers if a.status_code == 409} == \
                {"no-seats-available"}
            pool = (await api.get(f"{API}/pools/{pool_id}")).json()
            assert (pool["allocated"], pool["available"]) == (seats, 0)
            listed = (await api.get(f"{API}/allocations", params={"pool_id": pool_id, "limit": 100})).json()
            assert sorted(a["id"] for a in listed["items"]) == sorted(a.json()["id"] for a in answers
                                                                      if a.status_code == 201)
    for url in replicas:  # both replicas took part, and each put several requests in one batch
        async with httpx.AsyncClient(timeout=5) as plain:
            text = (await plain.get(f"{url}/metrics")).text
        figures = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                   if line.startswith("zhengban_seat_batch_size_")}
        assert figures["zhengban_seat_batch_size_sum"] >= 24
        assert figures["zhengban_seat_batch_size_count"] < figures["zhengban_seat_batch_size_sum"]
