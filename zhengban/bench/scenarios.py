"""The five benchmark scenarios of issue #8, each with the baseline it is compared against."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid

from zhengban.bench.load import LoadClient, Result, run_load
from zhengban.bench.stack import ADMIN_PASSWORD, BenchStack
from zhengban.demo.client import Api, wait_until


class World:
    """Orgs, an IT admin and tokens made through the API once for all scenarios."""

    def __init__(self, stack: BenchStack):
        self.stack = stack
        self.api = Api(stack.url)
        self.admin = self.api.as_(self.api.token("admin", ADMIN_PASSWORD))
        root = self.admin.get("/api/v1/identity/me")["org_id"]
        self.org = self.admin.post("/api/v1/identity/orgs", {"name": "基准测试单位", "kind": "unit",
                                                             "parent_id": root})
        self.admin.post("/api/v1/identity/users", {"username": "bench-it", "password": ADMIN_PASSWORD,
                                                   "org_id": self.org["id"], "roles": ["it_admin"]})
        self.headers = self.api.token("bench-it", ADMIN_PASSWORD)
        self.it = self.api.as_(self.headers)

    def pool(self, seats: int, name: str | None = None) -> dict:
        entitlement = self.it.post("/api/v1/licenses/entitlements", {
            "org_id": self.org["id"], "product_name": name or f"bench-{uuid.uuid4().hex[:8]}", "vendor": "bench",
            "category": "office", "metric": "device", "quantity": seats, "source": "manual"})
        return self.it.get(f"/api/v1/licenses/pools/{entitlement['pool_id']}")


def client(base_url: str, connections: int) -> LoadClient:
    return LoadClient(base_url, connections)


async def allocate_load(name: str, base_url: str, headers: dict, pool_id: str, *, concurrency: int, seconds: float,
                        tag: str) -> Result:
    async with client(base_url, concurrency) as http:
        async def call(n: int) -> int:
            resp = await http.post(f"/api/v1/licenses/pools/{pool_id}/allocations", headers=headers,
                                   json={"assignee_type": "device", "assignee_id": f"{tag}-{n}"})
            return resp.status_code

        return await run_load(name, call, concurrency=concurrency, seconds=seconds)


async def raw_allocations(database_url: str, pool_id: str, org_path: str, *, concurrency: int,
                          seconds: float, counter_first: bool) -> Result:
    """The issue's transaction straight to PostgreSQL with asyncpg: update the pool counter, insert
    the allocation, insert the outbox row. With `counter_first=False`, in the order the service
    issues them (the contended counter last); both are reported, the ratio is against the faster."""
    import asyncpg

    pool = await asyncpg.create_pool(database_url, min_size=concurrency, max_size=concurrency)
    pool_uuid = uuid.UUID(pool_id)
    try:
        org_id = await pool.fetchval("SELECT org_id FROM pools WHERE id = $1 AND org_path LIKE $2", pool_uuid,
                                     org_path + "%")

        async def call(n: int) -> int:
            async with pool.acquire() as conn, conn.transaction():
                if counter_first and not await take_seat(conn):
                    return 409
                allocation_id = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO allocations (id, pool_id, org_id, assignee_type, assignee_id, device_id, status, "
                    "allocated_at, created_at, updated_at) VALUES ($1, $2, $3, 'device', $4, NULL, 'active', now(), "
                    "now(), now())", allocation_id, pool_uuid, org_id, f"raw-{n}")
                event_id = uuid.uuid4()
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

        order = "counter first" if counter_first else "counter last, as the service"
        return await run_load(f"hot pool: raw asyncpg transaction, {order}", call, concurrency=concurrency,
                              seconds=seconds)
    finally:
        await pool.close()


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


async def hot_pool(world: World, *, concurrency: int, seconds: float) -> dict:
    seats = 10_000_000
    pool = world.pool(seats)
    via_gateway = await allocate_load("hot pool: via the gateway", world.stack.url, world.headers, pool["id"],
                                      concurrency=concurrency, seconds=seconds, tag="hot")
    after = world.it.get(f"/api/v1/licenses/pools/{pool['id']}")
    listed = world.it.get("/api/v1/licenses/allocations", params={"pool_id": pool["id"], "limit": 1})
    baseline, baselines = None, {}
    if world.stack.postgres_url:
        for counter_first in (True, False):
            raw_pool = world.pool(seats)
            raw = await raw_allocations(world.stack.database_url("licenses"), raw_pool["id"], world.org["path"],
                                        concurrency=concurrency, seconds=seconds, counter_first=counter_first)
            baselines["counter_first" if counter_first else "counter_last"] = raw.summary()
            if baseline is None or raw.throughput > baseline.throughput:
                baseline = raw
    # A separate small pool, hammered past its size: never more allocated than it holds.
    small = world.pool(50)
    async with client(world.stack.url, 50) as http:
        async def grab(n: int) -> int:
            resp = await http.post(f"/api/v1/licenses/pools/{small['id']}/allocations", headers=world.headers,
                                   json={"assignee_type": "device", "assignee_id": f"cap-{n}"})
            return resp.status_code

        burst = await run_load("hot pool: 50 seats, 200 requests", grab, concurrency=50, seconds=120,
                               max_requests=200)
    small_after = world.it.get(f"/api/v1/licenses/pools/{small['id']}")
    return {"result": via_gateway.summary(), "baseline": baseline.summary() if baseline else None,
            "ratio": ratio(via_gateway.throughput, baseline.throughput) if baseline else None, "target": 0.5,
            "over_allocated": max(0, after["allocated"] - after["total"]) + max(0, small_after["allocated"] - 50),
            "allocated": after["allocated"], "successes": via_gateway.statuses.get(201, 0),
            "counter_matches_successes": after["allocated"] == via_gateway.statuses.get(201, 0),
            "small_pool_allocated": small_after["allocated"], "listed": bool(listed["items"]), "baselines": baselines,
            "burst": burst.summary()}


async def many_pools(world: World, *, pools: int, concurrency: int, seconds: float) -> dict:
    made = await asyncio.gather(*(asyncio.to_thread(world.pool, 1_000_000) for _ in range(pools)))
    ids = [p["id"] for p in made]
    rng = random.Random(7)
    async with client(world.stack.url, concurrency) as http:
        async def allocate(n: int) -> int:
            resp = await http.post(f"/api/v1/licenses/pools/{rng.choice(ids)}/allocations", headers=world.headers,
                                   json={"assignee_type": "device", "assignee_id": f"many-{n}"})
            return resp.status_code

        async def floor(n: int) -> int:
            resp = await http.get(f"/api/v1/licenses/orgs/{world.org['id']}", headers=world.headers)
            return resp.status_code

        spread = await run_load(f"many pools: {pools} pools via the gateway", allocate, concurrency=concurrency,
                                seconds=seconds)
        baseline = await run_load("framework floor: a trivial proxied GET", floor, concurrency=concurrency,
                                  seconds=seconds)
    return {"result": spread.summary(), "baseline": baseline.summary(),
            "ratio": ratio(spread.throughput, baseline.throughput), "target": 0.5}


async def gateway_overhead(world: World, *, concurrency: int, seconds: float) -> dict:
    pool = world.pool(10_000_000)
    direct_url = f"http://127.0.0.1:{world.stack.port_of('licenses')}"
    via = await allocate_load("allocation via the gateway", world.stack.url, world.headers, pool["id"],
                              concurrency=concurrency, seconds=seconds, tag="via")
    direct = await allocate_load("allocation straight to licenses", direct_url, world.headers, pool["id"],
                                 concurrency=concurrency, seconds=seconds, tag="direct")
    return {"result": via.summary(), "baseline": direct.summary(), "ratio": ratio(via.throughput, direct.throughput),
            "target": 0.8}


async def order_flow(world: World, *, orders: int, concurrency: int) -> dict:
    import nats as nats_client

    agreement, item, line, unit_headers, supplier = await asyncio.to_thread(setup_agreement, world)
    confirmed: dict[str, float] = {}
    seated: dict[str, float] = {}
    nc = await nats_client.connect(world.stack.nats_url())

    async def on_reserved(msg):
        confirmed.setdefault(json.loads(msg.data)["data"]["order_id"], time.perf_counter())

    async def on_entitlement(msg):
        seated.setdefault(json.loads(msg.data)["data"]["reference"], time.perf_counter())

    await nc.subscribe("budget.reservation.accepted", cb=on_reserved)
    await nc.subscribe("licenses.entitlement.added", cb=on_entitlement)
    placed: dict[str, float] = {}
    try:
        async with client(world.stack.url, concurrency) as http:
            async def place(n: int) -> int:
                resp = await http.post("/api/v1/procurement/orders", headers={**unit_headers,
                                                                              "Idempotency-Key": f"bench-{n}"},
                                       json={"agreement_id": agreement, "item_id": item, "quantity": 1,
                                             "budget_line_id": line["id"], "org_id": line["org_id"]})
                if resp.status_code == 202:
                    placed[resp.json()["id"]] = time.perf_counter()
                return resp.status_code

            started = time.perf_counter()
            placing = await run_load("order flow: placing", place, concurrency=concurrency, seconds=600,
                                     max_requests=orders)
            await asyncio.to_thread(wait_until, lambda: len(confirmed.keys() & placed.keys()) == len(placed),
                                    timeout=300, what="every order confirmed")
            confirm_seconds = max(confirmed[o] for o in placed) - started

            async def deliver(n: int) -> int:
                order_id = list(placed)[n]
                resp = await http.post(f"/api/v1/procurement/orders/{order_id}/deliver", headers=supplier, json={})
                placed[order_id] = time.perf_counter()  # from now on: delivery time
                return resp.status_code

            placed_at = dict(placed)
            await asyncio.to_thread(wait_until, lambda: not world.admin.get(
                "/api/v1/procurement/orders", params={"status": "pending_budget", "limit": 1})["items"],
                timeout=120, what="every order confirmed in procurement")
            delivery = await run_load("order flow: delivering", deliver, concurrency=concurrency, seconds=600,
                                      max_requests=len(placed))
            await asyncio.to_thread(wait_until, lambda: len(seated.keys() & placed.keys()) == len(placed),
                                    timeout=300, what="every delivery seated")
    finally:
        await nc.close()
    to_confirm = Result("placement → confirmation", latencies=[confirmed[o] - t for o, t in placed_at.items()])
    to_seats = Result("delivery → seats in the pool", latencies=[seated[o] - placed[o] for o in placed])
    return {"placing": placing.summary(), "delivering": delivery.summary(),
            "orders_confirmed_per_s": round(len(placed) / confirm_seconds, 1),
            "placement_to_confirmation": {"p50_ms": round(to_confirm.percentile(50), 1),
                                          "p99_ms": round(to_confirm.percentile(99), 1)},
            "delivery_to_seats": {"p50_ms": round(to_seats.percentile(50), 1),
                                  "p99_ms": round(to_seats.percentile(99), 1)}}


def setup_agreement(world: World):
    """A unit with a large budget line and an agreement it can order under."""
    admin = world.admin
    root = admin.get("/api/v1/identity/me")["org_id"]
    orgs = {name: admin.post("/api/v1/identity/orgs", {"name": name, "kind": kind, "parent_id": root})["id"]
            for name, kind in (("bench-unit", "unit"), ("bench-supplier-a", "supplier"),
                               ("bench-supplier-b", "supplier"))}

    def user(name, org, *roles):
        admin.post("/api/v1/identity/users", {"username": name, "password": ADMIN_PASSWORD, "org_id": orgs[org],
                                              "roles": list(roles)})
        return world.api.token(name, ADMIN_PASSWORD)

    unit_h = user("bench-unit-user", "bench-unit", "budget_editor", "procurement", "negotiator")
    finance = world.api.as_(user("bench-finance", "bench-unit", "finance"))
    unit = world.api.as_(unit_h)
    line = unit.post("/api/v1/budget/lines", {"org_id": orgs["bench-unit"], "fiscal_year": 2026, "category": "office",
                                              "title": "bench", "quantity": 1_000_000, "unit_price_fen": 50_000})
    unit.post(f"/api/v1/budget/lines/{line['id']}/submit")
    finance.post(f"/api/v1/budget/lines/{line['id']}/approve", {"approved_fen": line["requested_fen"]})
    product = unit.post("/api/v1/procurement/products", {"vendor": "bench", "name": "bench", "edition": "x",
                                                         "category": "office", "metric": "device",
                                                         "term_months": None, "domestic": True})
    campaign = unit.post("/api/v1/procurement/campaigns", {
        "title": "bench", "lead_org_id": orgs["bench-unit"], "fiscal_year": 2026,
        "participant_org_ids": [orgs["bench-unit"]], "items": [{"product_id": product["id"],
                                                                 "cap_unit_price_fen": 50_000}],
        "min_offers": 1, "standstill_days": 0})
    path = f"/api/v1/procurement/campaigns/{campaign['id']}"
    item = campaign["items"][0]["id"]
    unit.post(f"{path}/open-demand")
    unit.post(f"{path}/lock-demand")
    unit.post(f"{path}/open-offers", {"supplier_org_ids": [orgs["bench-supplier-a"]]})
    supplier = user("bench-supplier", "bench-supplier-a", "supplier")
    world.api.as_(supplier).post(f"{path}/offers", {"items": [{"item_id": item, "unit_price_fen": 45_000}]})
    unit.post(f"{path}/close-offers")
    members = []
    for n in range(3):
        headers = user(f"bench-expert-{n}", "bench-unit", "negotiator")
        members.append((headers, world.api.as_(headers).get("/api/v1/identity/me")["id"]))
    unit.post(f"{path}/panel", {"member_user_ids": [m for _, m in members]})
    for headers, _ in members:
        world.api.as_(headers).post(f"{path}/evaluations", {"supplier_org_id": orgs["bench-supplier-a"], "score": 90,
                                                            "recommend": True})
    awarded = unit.post(f"{path}/award", {"supplier_org_id": orgs["bench-supplier-a"]})
    return awarded["agreement_id"], item, line, unit_h, supplier


async def scale(world: World, *, bulk_seats: int, devices: int) -> dict:
    figures = {}
    started = time.perf_counter()
    pool = world.pool(1_000_000)
    figures["million_seat_entitlement_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["million_seat_pool_total"] = pool["total"]

    bulk_pool = world.pool(bulk_seats)
    started = time.perf_counter()
    async with client(world.stack.url, 1) as http:
        for start in range(0, bulk_seats, 10_000):
            items = [{"assignee_type": "device", "assignee_id": f"bulk-{n}"}
                     for n in range(start, min(start + 10_000, bulk_seats))]
            resp = await http.post(f"/api/v1/licenses/pools/{bulk_pool['id']}/allocations:bulk",
                                   headers=world.headers, json={"items": items})
            resp.raise_for_status()
    figures["bulk_seconds"] = round(time.perf_counter() - started, 2)
    figures["bulk_seats"] = bulk_seats
    figures["bulk_seats_per_s"] = round(bulk_seats / figures["bulk_seconds"], 0)
    figures["bulk_pool_allocated"] = world.it.get(f"/api/v1/licenses/pools/{bulk_pool['id']}")["allocated"]

    compliance_org = await asyncio.to_thread(seed_devices, world, devices)
    timings = []
    async with client(world.stack.url, 1) as http:
        for _ in range(3):
            started = time.perf_counter()
            resp = await http.get("/api/v1/licenses/compliance", params={"org_id": compliance_org},
                                  headers=world.admin.http.headers)
            resp.raise_for_status()
            timings.append(time.perf_counter() - started)
    body = resp.json()
    figures["compliance_devices"] = body["computers"]["total"]
    figures["compliance_ms"] = round(sorted(timings)[1] * 1000, 1)
    figures["compliance_office"] = {"genuine": body["office"]["genuine"], "non_genuine": body["office"]["non_genuine"]}
    figures["rss_mb"] = world.stack.rss_mb()
    return figures


def seed_devices(world: World, count: int) -> str:
    """An org with `count` devices, each with an inventory report, half of them with a seat.

    Written straight into the licenses database (registering 50,000 devices one request at a time
    would measure the setup, not the report); the rows are exactly what the API would write."""
    import sqlite3
    from datetime import UTC, datetime

    root = world.admin.get("/api/v1/identity/me")["org_id"]
    org = world.admin.post("/api/v1/identity/orgs", {"name": "大型集团", "kind": "soe_group", "parent_id": root})
    pool = world.pool(count)
    wait_until(lambda: world.admin.get(f"/api/v1/licenses/orgs/{org['id']}"), what="org known")
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    devices = [(d, uuid.UUID(org["id"]), org["path"], f"A{n:06d}", f"pc-{n}", "desktop", "active", now, now, now)
               for n, d in enumerate(ids)]
    reports = [(uuid.uuid4(), d, now, 1) for d in ids]
    software = [(uuid.uuid4(), d, now, "WPS Office", "office") for d in ids]
    seated = ids[: count // 2]
    allocations = [(uuid.uuid4(), uuid.UUID(pool["id"]), uuid.UUID(org["id"]), str(d), d, now) for d in seated]
    entries = [(uuid.uuid4(), a[0], a[1], a[4], now) for a in allocations]
    statements = [
        ("INSERT INTO devices (id, org_id, org_path, asset_tag, hostname, kind, status, last_seen_at, created_at, "
         "updated_at) VALUES ({})", 10, devices),
        ("INSERT INTO inventory_reports (id, device_id, reported_at, items) VALUES ({})", 4, reports),
        ("INSERT INTO installed_software (id, device_id, reported_at, name, category) VALUES ({})", 5, software),
        ("INSERT INTO allocations (id, pool_id, org_id, assignee_type, assignee_id, device_id, status, allocated_at, "
         "created_at, updated_at) VALUES ({0}, {1}, {2}, 'device', {3}, {4}, 'active', {5}, {5}, {5})", None,
         allocations),
        ("INSERT INTO allocation_entries (id, allocation_id, pool_id, category, device_id, kind, actor, at) "
         "VALUES ({0}, {1}, {2}, 'office', {3}, 'allocated', 'bench', {4})", None, entries),
    ]
    if world.stack.postgres_url:
        import asyncpg

        async def write():
            conn = await asyncpg.connect(world.stack.database_url("licenses"))
            try:
                async with conn.transaction():
                    for sql, width, rows in statements:
                        marks = [f"${i + 1}" for i in range(len(rows[0]))]
                        text = sql.format(", ".join(marks)) if width else sql.format(*marks)
                        await conn.executemany(text, rows)
                    await conn.execute("UPDATE pools SET allocated = $1 WHERE id = $2", len(seated),
                                       uuid.UUID(pool["id"]))
            finally:
                await conn.close()

        asyncio.run(write())
    else:
        conn = sqlite3.connect(str(world.stack.data_dir / "licenses.db"), timeout=60)

        def plain(value):
            if isinstance(value, uuid.UUID):
                return value.hex
            if isinstance(value, datetime):
                return value.replace(tzinfo=None).isoformat(sep=" ")
            return value

        with conn:
            for sql, width, rows in statements:
                marks = [f"?{i + 1}" for i in range(len(rows[0]))]  # numbered: a template may repeat one
                text = sql.format(", ".join(marks)) if width else sql.format(*marks)
                conn.executemany(text, [tuple(plain(v) for v in row) for row in rows])
            conn.execute("UPDATE pools SET allocated = ? WHERE id = ?", (len(seated), uuid.UUID(pool["id"]).hex))
        conn.close()
    return org["id"]
