"""The benchmark scenarios of issue #8, each with the baseline it is compared against, and the
inspection figures of issue #26 (a detection tool's import, the report with titles); the figures
of issue #32 (imports with an allocation's latency beside them, the annual-report roll-up, the
audit log's cost). A scenario with a baseline runs in rounds (zhengban/bench/rounds.py)."""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx

from zhengban.bench import pgbench, seed, wrk
from zhengban.bench.load import LoadClient, Result, run_load
from zhengban.bench.rounds import ROUNDS, repeated, spread
from zhengban.bench.stack import ADMIN_PASSWORD, BenchStack, service_of
from zhengban.builder import Builder
from zhengban.demo.client import Api, wait_until


class World:
    """Orgs, an IT admin, tokens and registered devices made once for all scenarios."""

    def __init__(self, stack: BenchStack, devices: int):
        self.stack = stack
        self.api = Api(stack.url)
        self.admin = self.api.as_(self.api.token("admin", ADMIN_PASSWORD))
        self.build = Builder(self.api, self.admin, ADMIN_PASSWORD)
        self.org = self.build.org("基准测试单位", "unit")
        self.it = self.build.user("bench-it", self.org["id"], "it_admin")
        self.headers = self.it.headers
        # Seats go only to registered devices: these are the assignees of every allocation load.
        wait_until(lambda: self.admin.get(f"/api/v1/licenses/orgs/{self.org['id']}"), what="org known")
        self.devices = seed.register_devices(stack.database_url("licenses"), self.org, devices, tag="BENCH-")
        self._pools: dict[str, list[dict]] = {}

    def pools(self, purpose: str, count: int) -> list[dict]:
        """`count` large pools for `purpose`, made once and kept for every round of it (each round
        allocates to its own devices: see `devices_of_round`)."""
        if purpose not in self._pools:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(8) as threads:
                self._pools[purpose] = list(threads.map(lambda _: self.pool(1_000_000), range(count)))
        return self._pools[purpose]

    def devices_of_round(self, n: int, rounds: int) -> list[str]:
        """The n-th of `rounds` equal shares of the devices, so that no (pool, device) pair repeats
        across the rounds of a scenario."""
        size = len(self.devices) // rounds
        return self.devices[n * size:(n + 1) * size]

    def pool(self, seats: int, name: str | None = None, category: str = "business") -> dict:
        # "business": 98号 limits a computer to one seat of os, office and antivirus each; the
        # bench's devices hold seats of many pools at once, so its pools are of another category.
        entitlement = self.it.post("/api/v1/licenses/entitlements", {
            "org_id": self.org["id"], "product_name": name or f"bench-{uuid.uuid4().hex[:8]}", "vendor": "bench",
            "category": category, "metric": "device", "quantity": seats, "source": "manual"})
        return self.it.get(f"/api/v1/licenses/pools/{entitlement['pool_id']}")


def client(base_url: str, connections: int) -> LoadClient:
    return LoadClient(base_url, connections)


def generator() -> str:
    return "wrk" if wrk.available() else "python"


async def allocate_load(name: str, base_url: str, headers: dict, pool_ids: list[str], devices: list[str], *,
                        concurrency: int, seconds: float) -> Result:
    """Allocations spread over `pool_ids`, each request naming its own device (request n: pool
    n mod pools, device n mod devices), so that every (pool, device) pair comes at most once while
    n < len(devices) and every answer the scenario expects is a 201. Callers warm up on other pools
    or devices first."""
    paths = [world_pool_path(p) for p in pool_ids]
    if wrk.available():
        return await wrk.run(base_url, wrk.Load(name, paths, headers, "POST", devices, (201,)),
                             connections=concurrency, seconds=seconds)
    async with client(base_url, concurrency) as http:
        async def call(n: int) -> int:
            resp = await http.post(paths[n % len(paths)], headers=headers, json={
                "assignee_type": "device", "assignee_id": devices[n % len(devices)]})
            return resp.status_code

        return await run_load(name, call, concurrency=concurrency, seconds=seconds, expected=(201,))


def world_pool_path(pool_id: str) -> str:
    return f"/api/v1/licenses/pools/{pool_id}/allocations"


async def get_load(name: str, base_url: str, headers: dict, path: str, *, concurrency: int, seconds: float,
                   warmup: float) -> Result:
    if wrk.available():
        if warmup:
            await wrk.run(base_url, wrk.Load("warm-up", [path], headers), connections=concurrency, seconds=warmup)
        return await wrk.run(base_url, wrk.Load(name, [path], headers), connections=concurrency, seconds=seconds)
    async with client(base_url, concurrency) as http:
        async def call(n: int) -> int:
            return (await http.get(path, headers=headers)).status_code

        return await run_load(name, call, concurrency=concurrency, seconds=seconds, expected=(200,), warmup=warmup)


async def raw_allocations(world: World, pool: dict, *, concurrency: int, seconds: float, warmup: float,
                          counter_first: bool) -> Result:
    """The service's transaction for one seat straight to PostgreSQL (see bench/pgbench.py for what
    it holds and leaves out), one transaction per seat. With `counter_first=False` in the order the
    service issues them (the contended counter last); both are reported, the ratio is against the
    faster."""
    order = "counter first" if counter_first else "counter last, as the service"
    name = f"hot pool: raw transaction, {order}"
    database_url = world.stack.database_url("licenses")
    if pgbench.available():
        text = pgbench.script(pool["id"], world.org["id"], world.org["path"], len(world.devices), counter_first)
        if warmup:
            await pgbench.run("warm-up", database_url, text, clients=concurrency, seconds=warmup)
        return await pgbench.run(name, database_url, text, clients=concurrency, seconds=seconds)
    return await asyncpg_allocations(name, database_url, pool, world, concurrency=concurrency, seconds=seconds,
                                     counter_first=counter_first)


async def asyncpg_allocations(name: str, database_url: str, pool: dict, world: World, *, concurrency: int,
                              seconds: float, counter_first: bool) -> Result:
    import asyncpg

    connections = await asyncpg.create_pool(database_url, min_size=concurrency, max_size=concurrency)
    pool_uuid, org_uuid = uuid.UUID(pool["id"]), uuid.UUID(world.org["id"])
    try:
        async def call(n: int) -> int:
            async with connections.acquire() as conn, conn.transaction():
                found = await conn.fetchrow("SELECT org_id, org_path, category FROM pools WHERE id = $1 "
                                            "AND org_path LIKE $2", pool_uuid, world.org["path"] + "%")
                await conn.fetchrow("SELECT org_path, status FROM devices WHERE org_id = $1 AND asset_tag = $2 "
                                    "FOR SHARE", org_uuid, f"BENCH-{n % len(world.devices)}")
                if counter_first and not await take_seat(conn):
                    return 409
                allocation_id, event_id = uuid.uuid4(), uuid.uuid4()
                await conn.execute(
                    "INSERT INTO allocations (id, pool_id, org_id, assignee_type, assignee_id, device_id, category, "
                    "status, allocated_at, created_at, updated_at) VALUES ($1, $2, $3, 'device', $4, NULL, $5, "
                    "'active', now(), now(), now())", allocation_id, pool_uuid, found["org_id"], f"raw-{n}",
                    found["category"])
                await conn.execute(
                    "INSERT INTO allocation_entries (id, allocation_id, pool_id, category, device_id, kind, reason, "
                    "actor, at) VALUES ($1, $2, $3, $4, NULL, 'allocated', NULL, 'user:bench', now())",
                    uuid.uuid4(), allocation_id, pool_uuid, found["category"])
                payload = json.dumps({"specversion": "1.0", "id": str(event_id), "source": "bench",
                                      "type": "licenses.seat.allocated.v1",
                                      "data": {"allocation_id": str(allocation_id)}})
                await conn.execute("INSERT INTO outbox (event_id, subject, payload, created_at) "
                                   "VALUES ($1, 'licenses.seat.allocated', $2, now())", event_id, payload)
                if not counter_first and not await take_seat(conn):
                    raise RuntimeError("the pool is full")  # rolls the transaction back
                return 201

        async def take_seat(conn) -> bool:
            return await conn.fetchrow(
                "UPDATE pools SET allocated = allocated + 1, updated_at = now() WHERE id = $1 "
                "AND allocated < total RETURNING total, allocated", pool_uuid) is not None

        return await run_load(name, call, concurrency=concurrency, seconds=seconds, expected=(201,))
    finally:
        await connections.close()


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


async def cpu_per_request(world: World, load) -> tuple[Result, dict[str, float]]:
    """Runs `load()` and returns its result and the CPU milliseconds each process spent per
    expected answer (utime + stime from /proc, around the load)."""
    before = world.stack.cpu_seconds()
    result = await load()
    return result, cpu_per(before, world.stack.cpu_seconds(), result.ok)


def cpu_per(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """Each process's CPU milliseconds between two `cpu_seconds()` readings, per one of `count`."""
    used: dict[str, float] = {}
    for name in after:  # the replicas of a service together; a database backend opened meanwhile from 0
        used[service_of(name)] = used.get(service_of(name), 0.0) + after[name] - before.get(name, 0.0)
    return {name: round(seconds * 1000 / count, 3) for name, seconds in used.items()} if count else {}


def median_cpu(rounds: list[dict]) -> dict[str, float]:
    """Each process's median over the rounds of its CPU ms per allocation."""
    names = set().union(*(r["cpu_ms_per_allocation"] for r in rounds))
    return {name: round(statistics.median(r["cpu_ms_per_allocation"][name] for r in rounds
                                          if r["cpu_ms_per_allocation"].get(name) is not None), 3)
            for name in names if any(r["cpu_ms_per_allocation"].get(name) is not None for r in rounds)}


def batch_sizes(world: World) -> tuple[float, float]:
    """(batches, allocations in them) the licenses process has applied so far (its /metrics)."""
    import httpx

    count = total = 0.0
    for pid in world.stack.pids_of("licenses"):  # every replica's
        port = world.stack.port_of_pid(pid)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        figures = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                   if line.startswith("zhengban_seat_batch_size_")}
        count += figures.get("zhengban_seat_batch_size_count", 0.0)
        total += figures.get("zhengban_seat_batch_size_sum", 0.0)
    return count, total


async def hot_pool(world: World, *, concurrency: int, seconds: float, warmup: float, rounds: int = ROUNDS) -> dict:
    """Allocations from one pool via the gateway against the service's transaction straight to
    PostgreSQL, in `rounds` rounds; then the exactly-k check of the group commit."""
    figures = await repeated(lambda _n: hot_pool_round(world, concurrency=concurrency, seconds=seconds,
                                                       warmup=warmup), rounds)
    each = figures["rounds"]
    burst = await exactly_k_winners(world, seats=50, requests=200)
    figures.update(
        cpu_ms_per_allocation=median_cpu(each),
        over_allocated=sum(r["over_allocated"] for r in each) + burst["over_allocated"],
        counter_matches_rows=all(r["counter_matches_rows"] for r in each),
        counter_accounts_for_successes=all(r["counter_accounts_for_successes"] for r in each),
        small_pool_allocated=burst["allocated"], burst=burst["result"], burst_batched=burst["batched"])
    return figures


async def hot_pool_round(world: World, *, concurrency: int, seconds: float, warmup: float) -> dict:
    """One round: the product (after a warm-up on another pool), then the raw transaction in both
    orders (each after its own warm-up); the ratio is against the faster."""
    seats = 10_000_000
    pool = world.pool(seats)
    warm = world.pool(seats)
    await allocate_load("warm-up", world.stack.url, world.headers, [warm["id"]], world.devices,
                        concurrency=concurrency, seconds=warmup)
    count_before, sum_before = batch_sizes(world)
    via_gateway, cpu = await cpu_per_request(world, lambda: allocate_load(
        "hot pool: via the gateway", world.stack.url, world.headers, [pool["id"]], world.devices,
        concurrency=concurrency, seconds=seconds))
    count_after, sum_after = batch_sizes(world)
    listed = world.it.get("/api/v1/licenses/allocations", params={"pool_id": pool["id"], "limit": 1})
    baseline, baselines = None, {}
    if world.stack.postgres_url:
        for counter_first in (True, False):
            raw_pool = world.pool(seats)
            raw = await raw_allocations(world, raw_pool, concurrency=concurrency, seconds=seconds, warmup=warmup,
                                        counter_first=counter_first)
            baselines["counter_first" if counter_first else "counter_last"] = raw.summary()
            if baseline is None or raw.throughput > baseline.throughput:
                baseline = raw
    # The counter and the rows in one statement (`counter_and_rows`): requests the load generator
    # gave up on can still be committing when it returns.
    counter, rows = await asyncio.to_thread(seed.counter_and_rows, world.stack.database_url("licenses"), pool["id"])
    after = world.it.get(f"/api/v1/licenses/pools/{pool['id']}")
    return {"result": via_gateway.summary(), "baseline": baseline.summary() if baseline else None,
            "ratio": ratio(via_gateway.throughput, baseline.throughput) if baseline else None, "target": 1.0,
            "cpu_ms_per_allocation": cpu,
            "mean_batch": round((sum_after - sum_before) / (count_after - count_before), 2)
            if count_after > count_before else None,
            "over_allocated": max(0, after["allocated"] - after["total"]),
            "allocated": after["allocated"], "successes": via_gateway.statuses.get(201, 0),
            # The counter is what the rows say; wrk stops counting with requests still in flight,
            # so up to one per connection was allocated without its 201 being counted.
            "counter_matches_rows": counter == rows,
            "counter_accounts_for_successes": 0 <= after["allocated"] - via_gateway.statuses.get(201, 0)
            <= concurrency,
            "listed": bool(listed["items"]), "baselines": baselines}


async def exactly_k_winners(world: World, *, seats: int, requests: int) -> dict:
    """The correctness check of the group commit: `requests` concurrent allocations of distinct
    devices against a pool of `seats` give exactly `seats` 201s, the rest 409 no-seats-available."""
    small = world.pool(seats)
    count_before, sum_before = batch_sizes(world)
    problems = set()
    async with client(world.stack.url, requests) as http:
        async def grab(n: int) -> int:
            resp = await http.post(world_pool_path(small["id"]), headers=world.headers,
                                   json={"assignee_type": "device", "assignee_id": world.devices[n]})
            if resp.status_code == 409:
                problems.add(resp.json()["type"].rsplit("/", 1)[1])
            return resp.status_code

        result = await run_load(f"{seats} seats, {requests} requests at once", grab, concurrency=requests,
                                seconds=120, max_requests=requests, expected=(201,))
    count_after, sum_after = batch_sizes(world)
    allocated = world.it.get(f"/api/v1/licenses/pools/{small['id']}")["allocated"]
    return {"result": {**result.summary(), "problems": sorted(problems)},
            "over_allocated": max(0, allocated - seats), "allocated": allocated,
            "batched": {"batches": count_after - count_before, "requests": sum_after - sum_before}}


async def many_pools(world: World, *, pools: int, concurrency: int, seconds: float, warmup: float,
                     rounds: int = ROUNDS) -> dict:
    figures = await repeated(lambda n: many_pools_round(world, n, rounds, pools=pools, concurrency=concurrency,
                                                        seconds=seconds, warmup=warmup), rounds)
    figures["cpu_ms_per_allocation"] = median_cpu(figures["rounds"])
    return figures


async def many_pools_round(world: World, n: int, rounds: int, *, pools: int, concurrency: int, seconds: float,
                           warmup: float) -> dict:
    ids = [p["id"] for p in await asyncio.to_thread(world.pools, "many_pools", pools)]
    devices = world.devices_of_round(n, rounds)
    half = len(devices) // 2
    floor_path = f"/api/v1/licenses/orgs/{world.org['id']}"
    # The warm-up uses the second half of the round's devices, the measurement the first: every pair new.
    await allocate_load("warm-up", world.stack.url, world.headers, ids, devices[half:],
                        concurrency=concurrency, seconds=warmup)
    spread_, cpu = await cpu_per_request(world, lambda: allocate_load(
        f"many pools: {pools} pools via the gateway", world.stack.url, world.headers, ids, devices[:half],
        concurrency=concurrency, seconds=seconds))
    baseline = await get_load("framework floor: a trivial proxied GET", world.stack.url, world.headers, floor_path,
                              concurrency=concurrency, seconds=seconds, warmup=warmup)
    return {"result": spread_.summary(), "baseline": baseline.summary(), "cpu_ms_per_allocation": cpu,
            "ratio": ratio(spread_.throughput, baseline.throughput), "target": 0.5}


async def gateway_overhead(world: World, *, concurrency: int, seconds: float, warmup: float,
                           rounds: int = ROUNDS) -> dict:
    return await repeated(lambda n: gateway_overhead_round(world, n, rounds, concurrency=concurrency,
                                                           seconds=seconds, warmup=warmup), rounds)


async def gateway_overhead_round(world: World, n: int, rounds: int, *, concurrency: int, seconds: float,
                                 warmup: float) -> dict:
    direct_url = f"http://127.0.0.1:{world.stack.port_of('licenses')}"
    # Over 100 pools, so that the figure is the gateway's cost, not the one pool's lock.
    ids = [p["id"] for p in await asyncio.to_thread(world.pools, "gateway_overhead", 100)]
    devices = world.devices_of_round(n, rounds)
    quarter = len(devices) // 4
    await allocate_load("warm-up", world.stack.url, world.headers, ids, devices[2 * quarter:3 * quarter],
                        concurrency=concurrency, seconds=warmup)
    via = await allocate_load("allocation via the gateway", world.stack.url, world.headers, ids,
                              devices[:quarter], concurrency=concurrency, seconds=seconds)
    await allocate_load("warm-up", direct_url, world.headers, ids, devices[3 * quarter:],
                        concurrency=concurrency, seconds=warmup)
    direct = await allocate_load("allocation straight to licenses", direct_url, world.headers, ids,
                                 devices[quarter:2 * quarter], concurrency=concurrency, seconds=seconds)
    return {"result": via.summary(), "baseline": direct.summary(), "ratio": ratio(via.throughput, direct.throughput),
            "target": 0.9}


async def audit(world: World, *, concurrency: int, seconds: float, warmup: float, rounds: int = ROUNDS) -> dict:
    """The hot pool through two gateways started beside the stack's, one with the audit log on and
    one with `ZHENGBAN_GATEWAY_AUDIT_REQUESTS=false`, on the same services and databases,
    alternating: the log's cost is 1 − on/off (target ≤ 5 %)."""
    # Two fresh gateways alike but for the switch: the stack's own has served every scenario before
    # this one (a larger heap, its console and background work), which is no fair "on" leg.
    logged_url = await asyncio.to_thread(world.stack.side_gateway, audit_requests="true")
    quiet_url = await asyncio.to_thread(world.stack.side_gateway, audit_requests="false")
    gateway_db = world.stack.database_url("gateway")

    async def leg(url: str, name: str) -> tuple[Result, dict]:
        pool, warm = world.pool(10_000_000), world.pool(10_000_000)
        await allocate_load("warm-up", url, world.headers, [warm["id"]], world.devices,
                            concurrency=concurrency, seconds=warmup)
        return await allocate_load(name, url, world.headers, [pool["id"]], world.devices,
                                   concurrency=concurrency, seconds=seconds), pool

    async def one_round(n: int) -> dict:
        # Which leg goes first alternates too, so that neither always meets a fresher machine.
        if n % 2:
            off, off_pool = await leg(quiet_url, "hot pool, audit log off")
            on, on_pool = await leg(logged_url, "hot pool, audit log on")
        else:
            on, on_pool = await leg(logged_url, "hot pool, audit log on")
            off, off_pool = await leg(quiet_url, "hot pool, audit log off")
        # The log's writer flushes every half second: the on leg's entries are all written by then.
        def written() -> int | None:
            found = seed.audit_entries(gateway_db, world_pool_path(on_pool["id"]))
            return found if found >= on.statuses.get(201, 0) else None

        logged = await asyncio.to_thread(wait_until, written, timeout=60, what="the audit log written")
        return {"result": on.summary(), "baseline": off.summary(), "ratio": ratio(on.throughput, off.throughput),
                "target": 0.95, "logged_on": logged,
                "logged_off": await asyncio.to_thread(seed.audit_entries, gateway_db, world_pool_path(off_pool["id"]))}

    figures = await repeated(one_round, rounds)
    costs = [1 - r["ratio"] for r in figures["rounds"] if r["ratio"] is not None]
    figures["hot_pool_cost"] = round(1 - figures["median"], 3) if costs else None
    figures["cost"] = spread(costs) if costs else {"min": None, "median": None, "max": None}
    figures["cost_target"] = 0.05
    figures["every_write_logged"] = all(r["logged_on"] >= r["result"]["statuses"].get("201", 0)
                                        for r in figures["rounds"])
    figures["nothing_logged_when_off"] = all(r["logged_off"] == 0 for r in figures["rounds"])
    return figures


async def order_flow(world: World, *, orders: int, concurrency: int) -> dict:
    """Places `orders` orders, then delivers them. A delivery's seats are in the pool once the
    licenses transaction that adds them commits: the bench sees that commit by reading the licenses
    database every 20 ms (the entitlement of the order, by its reference). The event that announces
    it (`licenses.entitlement.added`, seen on the bus) comes one relay pass later and is reported too."""
    import nats as nats_client

    agreement, item, line, unit_headers, supplier = await asyncio.to_thread(setup_agreement, world)
    confirmed: dict[str, float] = {}
    announced: dict[str, float] = {}
    seated: dict[str, float] = {}
    nc = await nats_client.connect(world.stack.nats_url())

    async def on_reserved(msg):
        confirmed.setdefault(json.loads(msg.data)["data"]["order_id"], time.perf_counter())

    async def on_entitlement(msg):
        announced.setdefault(json.loads(msg.data)["data"]["reference"], time.perf_counter())

    await nc.subscribe("budget.reservation.accepted", cb=on_reserved)
    await nc.subscribe("licenses.entitlement.added", cb=on_entitlement)
    placed: dict[str, float] = {}
    delivered: dict[str, float] = {}
    delivered_at: dict[str, float] = {}  # the same, as Unix times, beside the databases' timestamps
    answered_at: dict[str, float] = {}  # when its delivery request was answered (Unix time)
    stop_watching = asyncio.Event()
    watcher = asyncio.create_task(seed.watch_entitlements(world.stack.database_url("licenses"),
                                                          lambda: list(delivered), seated, stop_watching))
    try:
        async with client(world.stack.url, concurrency) as http:
            async def place(n: int) -> int:
                sent = time.perf_counter()  # latencies run from when the request left
                resp = await http.post("/api/v1/procurement/orders", headers={**unit_headers,
                                                                              "Idempotency-Key": f"bench-{n}"},
                                       json={"agreement_id": agreement, "item_id": item, "quantity": 1,
                                             "budget_line_id": line["id"], "org_id": line["org_id"]})
                if resp.status_code == 202:
                    placed[resp.json()["id"]] = sent
                return resp.status_code

            cpu_placing = world.stack.cpu_seconds()
            started = time.perf_counter()
            placing = await run_load("order flow: placing", place, concurrency=concurrency, seconds=600,
                                     max_requests=orders, expected=(202,))
            await asyncio.to_thread(wait_until, lambda: len(confirmed.keys() & placed.keys()) == len(placed),
                                    timeout=300, what="every order confirmed")
            confirm_seconds = max(confirmed[o] for o in placed) - started
            cpu_confirmed = world.stack.cpu_seconds()

            async def deliver(n: int) -> int:
                order_id = order_ids[n]
                delivered[order_id] = time.perf_counter()  # when its delivery was sent
                delivered_at[order_id] = time.time()
                resp = await http.post(f"/api/v1/procurement/orders/{order_id}/deliver", headers=supplier, json={})
                answered_at[order_id] = time.time()
                return resp.status_code

            order_ids = list(placed)
            await asyncio.to_thread(wait_until, lambda: not world.admin.get(
                "/api/v1/procurement/orders", params={"status": "pending_budget", "limit": 1})["items"],
                timeout=120, what="every order confirmed in procurement")
            cpu_delivering = world.stack.cpu_seconds()
            delivery = await run_load("order flow: delivering", deliver, concurrency=concurrency, seconds=600,
                                      max_requests=len(placed), expected=(200,))
            await asyncio.to_thread(wait_until, lambda: len(seated.keys() & placed.keys()) == len(placed)
                                    and len(announced.keys() & placed.keys()) == len(placed),
                                    timeout=300, what="every delivery seated and announced")
            cpu_seated = world.stack.cpu_seconds()
            hops = await seed.delivery_hops(world.stack.database_url("procurement"),
                                            world.stack.database_url("licenses"))
    finally:
        stop_watching.set()
        await watcher
        await nc.close()
    to_confirm = Result("placement → confirmation", latencies=[confirmed[o] - t for o, t in placed.items()])
    to_seats = Result("delivery → seats in the pool", latencies=[seated[o] - t for o, t in delivered.items()])
    to_event = Result("delivery → entitlement.added on the bus",
                      latencies=[announced[o] - t for o, t in delivered.items()])
    unix = time.time() - time.perf_counter()  # perf_counter → Unix time, for the seats' moment
    # The outbox row's time is its INSERT's, before the request's commit; "published" is when the
    # relay had JetStream's acknowledgement, which can come after licenses already has the event.
    legs = {"delivery sent → event in procurement's outbox": lambda o, h: h[0] - delivered_at[o],
            "event in the outbox → delivery answered": lambda o, h: answered_at[o] - h[0],
            "delivery answered → licenses' consumer applies it": lambda o, h: h[2] - answered_at[o],
            "outbox → acknowledged to procurement's relay": lambda o, h: h[1] - h[0],
            "consumer's transaction → seats seen committed": lambda o, h: seated[o] + unix - h[2]}
    per_hop = {leg: Result(leg, latencies=[span(o, h) for o, h in hops.items()]) for leg, span in legs.items()}
    return {"placing": placing.summary(), "delivering": delivery.summary(),
            # Where a delivery's time goes, from the databases' timestamps (p50 and p99 of each leg).
            "delivery_hops": {leg: {"p50_ms": round(r.percentile(50), 1), "p99_ms": round(r.percentile(99), 1)}
                              for leg, r in per_hop.items()},
            "orders_confirmed_per_s": round(len(placed) / confirm_seconds, 1),
            # Each process's CPU per order from placement to confirmation, and per delivery to its
            # seats (the event, budget's reservation, procurement's state, licenses' entitlement).
            "cpu_ms_per_order": cpu_per(cpu_placing, cpu_confirmed, len(placed)),
            "cpu_ms_per_delivery": cpu_per(cpu_delivering, cpu_seated, len(placed)),
            "placement_to_confirmation": {"p50_ms": round(to_confirm.percentile(50), 1),
                                          "p99_ms": round(to_confirm.percentile(99), 1)},
            "delivery_to_seats": {"p50_ms": round(to_seats.percentile(50), 1),
                                  "p99_ms": round(to_seats.percentile(99), 1)},
            "delivery_to_event": {"p50_ms": round(to_event.percentile(50), 1),
                                  "p99_ms": round(to_event.percentile(99), 1)}}


def setup_agreement(world: World):
    """A unit with a large budget line and an agreement it can order under, built as the demo builds
    its own (zhengban.builder): one supplier, one round, a panel of three."""
    build = world.build
    orgs = {name: build.org(name, kind)["id"] for name, kind in (
        ("bench-unit", "unit"), ("bench-supplier-a", "supplier"), ("bench-supplier-b", "supplier"))}
    unit = build.user("bench-unit-user", orgs["bench-unit"], "budget_editor", "procurement", "negotiator")
    finance = build.user("bench-finance", orgs["bench-unit"], "finance")
    line = build.approved_line(unit, finance, org_id=orgs["bench-unit"], category="office", title="bench",
                               quantity=1_000_000, unit_price_fen=50_000)
    product = build.product(unit, vendor="bench", name="bench", edition="x", category="office")
    campaign = build.campaign(unit, title="bench", lead_org_id=orgs["bench-unit"],
                              participant_org_ids=[orgs["bench-unit"]], items=[(product["id"], 50_000)])
    campaign.open_demand()
    campaign.lock_demand()
    campaign.open_offers([orgs["bench-supplier-a"]])
    supplier = build.user("bench-supplier", orgs["bench-supplier-a"], "supplier")
    campaign.tender([[(supplier, [45_000])]])
    panel = [build.user(f"bench-expert-{n}", orgs["bench-unit"], "negotiator") for n in range(3)]
    campaign.evaluate([(expert, build.user_id(expert)) for expert in panel], {orgs["bench-supplier-a"]: 90})
    awarded = campaign.award(orgs["bench-supplier-a"])
    return awarded["agreement_id"], campaign.item_ids[0], line, unit.headers, supplier.headers


async def scale(world: World, *, bulk_seats: int, devices: int) -> dict:
    figures = {}
    started = time.perf_counter()
    pool = world.pool(1_000_000)
    figures["million_seat_entitlement_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["million_seat_pool_total"] = pool["total"]

    bulk_pool = world.pool(bulk_seats)
    cpu_before = world.stack.cpu_seconds()
    started = time.perf_counter()
    async with client(world.stack.url, 1) as http:
        for start in range(0, bulk_seats, 10_000):
            items = [{"assignee_type": "device", "assignee_id": world.devices[n]}
                     for n in range(start, min(start + 10_000, bulk_seats))]
            resp = await http.post(f"/api/v1/licenses/pools/{bulk_pool['id']}/allocations:bulk",
                                   headers=world.headers, json={"items": items})
            resp.raise_for_status()
    figures["bulk_seconds"] = round(time.perf_counter() - started, 2)
    # The relay publishes the seats' events after the calls: its CPU is counted once they are out
    # (or after five minutes, which the figure then says).
    try:
        await asyncio.to_thread(wait_until, lambda: seed.unpublished_events(world.stack.database_url("licenses")) == 0,
                                timeout=300, what="the bulk's events published")
    except TimeoutError:
        figures["cpu_counted_with_events_unpublished"] = True
    figures["cpu_ms_per_bulk_seat"] = cpu_per(cpu_before, world.stack.cpu_seconds(), bulk_seats)
    figures["bulk_seats"] = bulk_seats
    figures["bulk_seats_per_s"] = round(bulk_seats / figures["bulk_seconds"], 0)
    figures["bulk_pool_allocated"] = world.it.get(f"/api/v1/licenses/pools/{bulk_pool['id']}")["allocated"]

    licenses_db = world.stack.database_url("licenses")
    compliance_org = await asyncio.to_thread(seed_devices, world, devices)
    # The relay publishing the bulk's events runs in the licenses process: the report is timed
    # after it is done, so that the figure is the report's own.
    try:
        await asyncio.to_thread(wait_until, lambda: seed.unpublished_events(licenses_db) == 0, timeout=300,
                                what="the bulk's events published")
    except TimeoutError:
        figures["compliance_measured_with_events_unpublished"] = await asyncio.to_thread(seed.unpublished_events,
                                                                                         licenses_db)
    # Via the gateway and straight to licenses (`timed_report`); this report lists 25,000 devices
    # (about 4 MB), the one with titles 130,000 entries (about 29 MB).
    figures["compliance_ms"], figures["compliance_direct_ms"], body = await timed_report(world, compliance_org)
    titled = await compliance_with_titles(world, devices)
    figures["compliance_titles_ms"], figures["compliance_titles_direct_ms"], titled_body = titled
    figures["compliance_titles_devices"] = titled_body["computers"]["total"]
    figures["compliance_devices"] = body["computers"]["total"]
    figures["compliance_office"] = {"genuine": body["office"]["genuine"], "non_genuine": body["office"]["non_genuine"]}
    figures["rss_mb"] = world.stack.rss_mb()
    return figures


def seed_devices(world: World, count: int) -> str:
    """An org with `count` devices, each with an inventory report, half of them with a seat.

    Written straight into the licenses database through its models (registering 50,000 devices one
    request at a time would measure the setup, not the report); see zhengban/bench/seed.py."""
    org = world.build.org("大型集团", "soe_group")
    pool = world.pool(count, category="office")
    wait_until(lambda: world.admin.get(f"/api/v1/licenses/orgs/{org['id']}"), what="org known")
    seed.devices_with_office(world.stack.database_url("licenses"), org, pool["id"], count)
    return org["id"]


# What detection tools print on a bureau's computers (name, vendor, version, on one computer in `every`).
SCANNED = (
    ("Microsoft Windows 10 专业版", "Microsoft Corporation", "10.0.19045", 1),
    ("WPS Office 2019 专业版 (11.8.2.12085)", "Kingsoft Corp.", "11.8.2.12085", 1),
    ("7-Zip 19.00 (x64)", "Igor Pavlov", "19.00", 1),
    ("WinRAR 6.02 (64-bit)", "win.rar GmbH", "6.02", 2),
    ("火绒安全软件", "北京火绒网络科技有限公司", "5.0.73.5", 1),
    ("Microsoft Office Professional Plus 2016 - zh-cn", "Microsoft Corporation", "16.0.4266.1001", 10),
    ("WPS Office 2019 个人版", "Kingsoft Corp.", "11.1.0.12980", 10),
    ("Security Update for Microsoft Office 2016 (KB5002058) 64-Bit Edition", "Microsoft Corporation", None, 5),
    ("本单位公文流转客户端 3.1", "本单位信息中心", "3.1", 1),
    ("Adobe Acrobat Reader DC", "Adobe Systems Incorporated", "23.001.20093", 3),
)


def recognized_scan(world: World) -> list[dict]:
    """SCANNED with the title each entry is recognized as, asked of the service."""
    answer = world.it.post("/api/v1/licenses/catalogue:recognize", {"entries": [
        {"name": name, "vendor": vendor, "version": version} for name, vendor, version, _ in SCANNED]})
    return [{"name": name, "vendor": vendor, "version": version, "every": every,
             "title_id": uuid.UUID(result["title_id"]) if result else None,
             "not_a_product": result is None and "Update" in name}
            for (name, vendor, version, every), result in zip(SCANNED, answer["results"], strict=True)]


async def timed_report(world: World, org_id: str) -> tuple[float, float, dict]:
    """The compliance report of `org_id`, the median of three, ms: via the gateway (the figure) and
    straight to licenses, which separates the report's work from carrying its answer through the
    gateway; and the answer."""
    direct = f"http://127.0.0.1:{world.stack.port_of('licenses')}"
    medians = []
    for url in (world.stack.url, direct):
        timings = []
        async with client(url, 1) as http:
            for _ in range(3):
                started = time.perf_counter()
                resp = await http.get("/api/v1/licenses/compliance", params={"org_id": org_id},
                                      headers=world.admin.http.headers)
                resp.raise_for_status()
                timings.append(time.perf_counter() - started)
        medians.append(round(sorted(timings)[1] * 1000, 1))
    return medians[0], medians[1], resp.json()


async def compliance_with_titles(world: World, devices: int) -> tuple[float, float, dict]:
    """The report of an org of `devices` computers with ten scanned entries each, recognized as
    titles, and seats of the office and OS titles on most of them (`timed_report`)."""
    org = world.build.org("检测单位", "unit", world.org["id"])  # in the bench IT admin's subtree
    wait_until(lambda: world.admin.get(f"/api/v1/licenses/orgs/{org['id']}"), what="org known")
    scan = recognized_scan(world)
    seats = []
    for entry, category, share in ((scan[1], "office", 0.6), (scan[0], "os", 0.5)):
        if entry["title_id"] is None:
            continue
        pool = world.it.get("/api/v1/licenses/pools/" + world.it.post("/api/v1/licenses/entitlements", {
            "org_id": org["id"], "product_name": entry["name"], "vendor": entry["vendor"], "category": category,
            "title_id": str(entry["title_id"]), "metric": "device", "quantity": devices,
            "source": "manual"})["pool_id"])
        seats.append((pool, share))
    await asyncio.to_thread(seed.devices_with_titles, world.stack.database_url("licenses"), org, scan, seats, devices)
    return await timed_report(world, org["id"])


class PeakRss:
    """The highest resident size any of the processes reaches while the block runs, sampled every 20 ms."""

    def __init__(self, *pids: int):
        self.statuses = [Path(f"/proc/{pid}/status") for pid in pids]
        self.peak_kb = 0
        self.first_kb: int | None = None  # the size the block started from (a process keeps what it grew to)
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.is_set():
            sizes = [int(line.split()[1]) for status in self.statuses for line in status.read_text().splitlines()
                     if line.startswith("VmRSS:")]
            if sizes:
                self.first_kb = max(sizes) if self.first_kb is None else self.first_kb
                self.peak_kb = max(self.peak_kb, *sizes)
            self._done.wait(0.02)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._done.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)

    @property
    def first_mb(self) -> float:
        return round((self.first_kb or 0) / 1024, 1)


# One computer's daily report: the detection tool's ten programs and fifty more of the kind every
# Windows computer lists (runtimes, drivers, updates), 60 entries as a typical office PC shows.
DAILY_REPORT = {"software": [{"name": name, "vendor": vendor, "version": version}
                             for name, vendor, version, _ in SCANNED] + [
    {"name": f"Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.{k}.30704", "vendor": "Microsoft Corporation",
     "version": f"14.{k}.30704"} for k in range(25)] + [
    {"name": f"Intel(R) Chipset Device Software 10.1.{k}", "vendor": "Intel(R) Corporation", "version": f"10.1.{k}"}
    for k in range(25)]}


async def inventory_reports(world: World, *, concurrency: int, seconds: float, warmup: float,
                            rounds: int = ROUNDS) -> dict:
    """What computers reporting their inventory cost (the capacity model's largest load, docs/scale.md):
    each request one registered computer's report of 60 programs through the gateway, `rounds`
    rounds after a warm-up each; reports per second and each process's CPU ms per report (on
    PostgreSQL its backends too), the median of the rounds. No baseline: a cost, not a ratio."""
    each, sent = [], 0
    sizes_before = {name: await asyncio.to_thread(world.stack.database_bytes, name) for name in ("licenses", "gateway")}
    for n in range(rounds):
        devices = world.devices_of_round(n, rounds)
        async with client(world.stack.url, concurrency) as http:
            async def report(i: int, devices=devices) -> int:
                return (await http.post(f"/api/v1/licenses/devices/{devices[i % len(devices)]}/inventory",
                                        headers=world.headers, json=DAILY_REPORT)).status_code

            warm = await run_load("warm-up", report, concurrency=concurrency, seconds=warmup, expected=(200,))
            result, cpu = await cpu_per_request(world, lambda report=report: run_load(
                "inventory reports via the gateway", report, concurrency=concurrency, seconds=seconds,
                expected=(200,)))
        sent += warm.ok + result.ok
        each.append({"result": result.summary(), "cpu_ms_per_report": cpu})
    sizes_after = {name: await asyncio.to_thread(world.stack.database_bytes, name) for name in ("licenses", "gateway")}
    rates = [r["result"]["throughput_per_s"] for r in each]
    middle = sorted(range(rounds), key=rates.__getitem__)[(rounds - 1) // 2]
    return {"result": each[middle]["result"], "reports_per_s": spread(rates), "items_per_report":
            len(DAILY_REPORT["software"]), "cpu_ms_per_report": median_cpu(
                [{"cpu_ms_per_allocation": r["cpu_ms_per_report"]} for r in each]), "rounds": each,
            # What a report adds on disk: to licenses (reports are kept, not replaced) and to the
            # gateway (its audit log entry).
            "bytes_per_report": {name: round((sizes_after[name] - sizes_before[name]) / sent)
                                 for name in sizes_before if sizes_before[name] and sent}}


def devices_workbook(rows: int) -> bytes:
    """An asset register (登记造册) of `rows` computers as the devices import template reads it:
    XLSX with the Chinese headers, written row by row (openpyxl's write-only workbook)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("devices")
    sheet.append(["资产编号", "主机名", "类型", "操作系统", "使用人"])
    for n in range(rows):
        sheet.append([f"REG-{n:06d}", f"pc-reg-{n}", "台式机" if n % 5 else "笔记本", "Windows 10 专业版",
                      f"staff-{n % 800}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def while_importing(world: World, name: str, upload, *,
                          concurrency: int = 4) -> tuple[dict, float, Result, PeakRss]:
    """Runs `upload()` (one import request; returns its JSON) with allocations from a fresh pool
    going on beside it through the same gateway: (its answer, its seconds, the allocations, the
    licenses processes' resident size meanwhile)."""
    pool = world.pool(10_000_000)
    path = world_pool_path(pool["id"])
    async with client(world.stack.url, concurrency) as http:
        async def allocate(n: int) -> int:
            resp = await http.post(path, headers=world.headers, json={
                "assignee_type": "device", "assignee_id": world.devices[n % len(world.devices)]})
            return resp.status_code

        with PeakRss(*world.stack.pids_of("licenses")) as rss:
            started = time.perf_counter()
            task = asyncio.create_task(upload())
            allocations = await run_load(f"allocations during the {name}", allocate, concurrency=concurrency,
                                         seconds=3600, expected=(201,), until=task)
            answer = await task
            seconds = time.perf_counter() - started
    return answer, seconds, allocations, rss


async def imports(world: World, *, rows: int) -> dict:
    """A detection tool's export of `rows` rows (ten programs on each of rows / 10 registered
    computers) and an asset register of `rows` computers (XLSX), each imported through the gateway
    as one file, with allocations going on beside it: rows per second, an allocation's p99 meanwhile
    (and without an import, for comparison), the licenses process's peak resident size (targets:
    under 30 s and 300 MB for 50,000 rows, p99 under 1 s)."""
    org = world.build.org("检测导入单位", "unit", world.org["id"])  # in the bench IT admin's subtree
    register = world.build.org("登记导入单位", "unit", world.org["id"])
    for made in (org, register):
        wait_until(lambda made=made: world.admin.get(f"/api/v1/licenses/orgs/{made['id']}"), what="org known")
    computers = rows // len(SCANNED)
    await asyncio.to_thread(seed.register_devices, world.stack.database_url("licenses"), org, computers, tag="IMP-")
    lines = ["asset_tag,name,vendor,version"]
    lines += [f"IMP-{n},\"{name}\",\"{vendor}\",{version or ''}" for n in range(computers)
              for name, vendor, version, _ in SCANNED]
    content = ("\n".join(lines) + "\n").encode()
    workbook = await asyncio.to_thread(devices_workbook, rows)

    quiet_pool = world_pool_path(world.pool(10_000_000)["id"])
    async with client(world.stack.url, 4) as http:
        async def allocate(n: int) -> int:
            return (await http.post(quiet_pool, headers=world.headers, json={
                "assignee_type": "device", "assignee_id": world.devices[n % len(world.devices)]})).status_code

        quiet = await run_load("allocations, no import", allocate, concurrency=4, seconds=5, warmup=1,
                               expected=(201,))

    async with httpx.AsyncClient(base_url=world.stack.url, timeout=600) as http:
        async def inventory() -> dict:
            resp = await http.post("/api/v1/licenses/inventory:import", params={"org_id": org["id"]},
                                   headers=world.headers, files={"file": ("scan.csv", content, "text/csv")})
            resp.raise_for_status()
            return resp.json()

        async def devices() -> dict:
            resp = await http.post("/api/v1/licenses/devices:import", params={"org_id": register["id"]},
                                   headers=world.headers, files={"file": ("登记造册.xlsx", workbook, XLSX)})
            resp.raise_for_status()
            return resp.json()

        scanned, scan_seconds, scan_load, scan_rss = await while_importing(world, "inventory import", inventory)
        registered, register_seconds, register_load, register_rss = await while_importing(
            world, "device import", devices)
    totals = scanned["totals"]
    return {"inventory_rows": len(lines) - 1, "inventory_bytes": len(content),
            "inventory_seconds": round(scan_seconds, 2),
            "inventory_rows_per_s": round((len(lines) - 1) / scan_seconds, 0), "inventory_ok": totals["ok"],
            "inventory_errors": totals["error"], "inventory_peak_rss_mb": scan_rss.peak_mb,
            "inventory_rss_before_mb": scan_rss.first_mb,
            "inventory_allocations": scan_load.summary(),
            "devices_rows": rows, "devices_bytes": len(workbook), "devices_format": "xlsx",
            "devices_seconds": round(register_seconds, 2), "devices_rows_per_s": round(rows / register_seconds, 0),
            "devices_created": registered["created"], "devices_peak_rss_mb": register_rss.peak_mb,
            "devices_rss_before_mb": register_rss.first_mb,
            "devices_allocations": register_load.summary(),
            "peak_rss_mb": max(scan_rss.peak_mb, register_rss.peak_mb),
            "allocation_p99_ms": round(max(scan_load.percentile(99), register_load.percentile(99)), 1),
            "allocation_quiet": quiet.summary()}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def oversight(world: World, *, units: int) -> dict:
    """The annual-report roll-up (年度报告汇总) of a province with `units` submitted reports: one
    unit's report made and submitted through the API over an inventory with titles, and
    `units` - 1 more like it written straight into the database (seed.submitted_reports). The
    roll-up via the gateway, three times: min / median / max, ms (target ≤ 1 s)."""
    province = world.build.org("基准省级主管部门", "unit", world.org["id"])
    unit = world.build.org("基准省属单位", "unit", province["id"])
    for made in (province, unit):
        wait_until(lambda made=made: world.admin.get(f"/api/v1/licenses/orgs/{made['id']}"), what="org known")
    scan = recognized_scan(world)
    await asyncio.to_thread(seed.devices_with_titles, world.stack.database_url("licenses"), unit, scan, [], 200)
    year = time.gmtime().tm_year
    drafted = world.it.post("/api/v1/licenses/annual-reports", {
        "org_id": unit["id"], "year": year, "responsible_person": "基准", "phone": "010-00000000"})
    world.it.post(f"/api/v1/licenses/annual-reports/{drafted['id']}/submit", {})
    report = await asyncio.to_thread(seed.annual_report, world.stack.database_url("licenses"), drafted["id"])
    await asyncio.to_thread(seed.submitted_reports, world.stack.database_url("licenses"), province, report,
                            units - 1)
    timings = []
    async with client(world.stack.url, 1) as http:
        for _ in range(3):
            started = time.perf_counter()
            resp = await http.get("/api/v1/licenses/annual-reports/rollup", params={"org_id": province["id"],
                                                                                   "year": year},
                                  headers=world.admin.http.headers)
            resp.raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    body = resp.json()
    return {"units": units, "rollup_ms": round(statistics.median(timings), 1), "rollup": spread(timings),
            "reports": body["reports"], "computers": body["computers"]["total"],
            "titles": len(body["titles"]), "target_ms": 1000}
