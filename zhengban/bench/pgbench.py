"""The hot pool's baseline: the product's allocation transaction sent by pgbench, PostgreSQL's own
load generator (C, like wrk), when it is installed; else by asyncpg from the bench process.

Same work as the service's transaction for one seat: the pool looked up within the caller's
subtree, the device's row read and share-locked (the assignee check), the allocation, its ledger
line, its outbox row (an event of the product's size), the guarded counter update. Left out: the
idempotency, history and authentication work the service does outside the database, the pre-ping
on checkout, and the relay publishing the event afterwards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from string import Template

from zhengban.bench.load import Result

# No colon may appear in a statement but before a variable: pgbench reads `:name` as one.
STATEMENTS = {
    "lookup": "SELECT org_id, org_path, category FROM pools WHERE id = '$pool' AND org_path LIKE '$path%';",
    "device": "SELECT org_path, status FROM devices WHERE org_id = '$org' AND asset_tag = 'BENCH-' || CAST(:d AS text) "
              "FOR SHARE;",
    "allocation": "INSERT INTO allocations (id, pool_id, org_id, assignee_type, assignee_id, device_id, category, "
                  "status, allocated_at, created_at, updated_at) VALUES (gen_random_uuid(), '$pool', '$org', "
                  "'device', gen_random_uuid()::text, NULL, 'business', 'active', now(), now(), now()) "
                  "RETURNING id AS aid \\gset",
    "entry": "INSERT INTO allocation_entries (id, allocation_id, pool_id, category, device_id, kind, reason, actor, "
             "at) VALUES (gen_random_uuid(), :aid, '$pool', 'business', NULL, 'allocated', NULL, 'user-bench', "
             "now());",
    "event": "INSERT INTO outbox (event_id, subject, payload, created_at) VALUES (gen_random_uuid(), "
             "'licenses.seat.allocated', '$payload_head' || CAST(:aid AS text) || '$payload_tail', now());",
    "counter": "UPDATE pools SET allocated = allocated + 1, updated_at = now() WHERE id = '$pool' "
               "AND allocated < total RETURNING total, allocated, low_threshold;",
}


def available() -> bool:
    return shutil.which("pgbench") is not None


def script(pool_id: str, org_id: str, org_path: str, devices: int, counter_first: bool) -> str:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "zhengban/licenses",
             "type": "licenses.seat.allocated.v1", "subject": str(uuid.uuid4()), "time": "2026-11-30",
             "datacontenttype": "application/json", "traceparent": None,
             "data": {"allocation_id": "@", "pool_id": pool_id, "org_id": org_id, "assignee_type": "device",
                      "assignee_id": str(uuid.uuid4())}}
    head, tail = json.dumps(event).split("@")
    order = ["lookup", "device", "counter", "allocation", "entry", "event"] if counter_first else \
        ["lookup", "device", "allocation", "entry", "event", "counter"]
    body = "\n".join(STATEMENTS[s] for s in order)
    return Template(f"\\set d random(0, {devices - 1})\nBEGIN;\n{body}\nEND;\n").substitute(
        pool=pool_id, org=org_id, path=org_path, payload_head=head, payload_tail=tail)


# A PostgreSQL shared with other work can be out of connections for a while: pgbench's clients
# are tried again until this many seconds have passed.
CONNECTIONS_WAIT_SECONDS = 180


async def run(name: str, database_url: str, text: str, *, clients: int, seconds: float) -> Result:
    deadline = time.monotonic() + CONNECTIONS_WAIT_SECONDS
    while True:
        try:
            return await run_once(name, database_url, text, clients=clients, seconds=seconds)
        except RuntimeError as exc:
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(5)


async def run_once(name: str, database_url: str, text: str, *, clients: int, seconds: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="zhengban-pgbench-") as tmp:
        folder = Path(tmp)
        (folder / "allocate.sql").write_text(text)
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            "pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))),
            "-f", str(folder / "allocate.sql"), "-l", "--log-prefix", str(folder / "tx"), database_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=tmp)
        out, err = await process.communicate()
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"pgbench failed: {out.decode()[-2000:]} {err.decode()[-2000:]}")
        latencies = []
        for log in folder.glob("tx*"):
            for line in log.read_text().splitlines():
                latencies.append(int(line.split()[2]) / 1e6)
    duration = next((float(x.split(":")[1].split()[0]) for x in out.decode().splitlines()
                     if x.startswith("duration:")), elapsed)
    return Result(name, requests=len(latencies), seconds=duration, latencies=latencies,
                  statuses={201: len(latencies)}, expected=(201,), generator="pgbench")
