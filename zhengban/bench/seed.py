"""Rows the benchmark writes straight into the licenses database, and the counts it reads there,
through the service's own models.

Registering 100,000 devices one request at a time would measure the set-up, not the scenario: the
devices, their inventory reports and the seats of the compliance scenario are inserted in bulk
instead, as rows of the licenses models (Device, InventoryReport, …), so the models' types encode
ids and times for either database and the rows are those the API would write.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Collection, Sequence

import sqlalchemy as sa

from gateway.models import AuditEntry
from kernel.db import Database
from kernel.ids import new_id, utcnow
from kernel.schema import outbox
from services.licenses.allocations.models import Allocation, AllocationEntry
from services.licenses.annual_reports.models import AnnualReport
from services.licenses.devices.models import Device, InstalledSoftware, InventoryReport
from services.licenses.pools.models import Entitlement, Pool

CHUNK = 5_000  # rows per INSERT batch


def run(database_url: str, work) -> object:
    """Runs `await work(session)` in one transaction on `database_url` (from a thread with no
    event loop running), and returns what it returns."""

    async def main():
        db = Database(database_url, pool_size=1)
        try:
            async with db.session() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await db.dispose()

    return asyncio.run(main())


async def insert(session, model, rows: Sequence[dict]) -> None:
    """INSERTs `rows` into `model`'s table in batches: Core on the model's table (its column types
    encode ids and times), not the ORM's bulk path, whose bookkeeping per row made the seeding two
    to four times slower than the SQL it replaces; like this it takes as long."""
    for start in range(0, len(rows), CHUNK):
        await session.execute(model.__table__.insert(), list(rows[start:start + CHUNK]))


def devices(org: dict, count: int, *, tag: str) -> list[dict]:
    """`count` active desktops of `org` (an identity org: id and path), asset tags `{tag}0` …"""
    now = utcnow()
    return [{"id": new_id(), "org_id": uuid.UUID(org["id"]), "org_path": org["path"], "asset_tag": f"{tag}{n}",
             "hostname": f"pc-{tag}{n}", "kind": "desktop", "status": "active", "last_seen_at": now,
             "created_at": now, "updated_at": now} for n in range(count)]


def register_devices(database_url: str, org: dict, count: int, *, tag: str) -> list[str]:
    """Registers `count` devices of `org`; returns their ids."""
    rows = devices(org, count, tag=tag)

    async def work(session):
        await insert(session, Device, rows)

    run(database_url, work)
    return [str(row["id"]) for row in rows]


def devices_with_office(database_url: str, org: dict, pool_id: str, count: int) -> None:
    """`count` devices of `org`, each with an inventory report of one office suite; the first half
    hold a seat of `pool_id` (an office pool of `org`), with its ledger entry and the pool's counter."""
    now = utcnow()
    # As the API writes a report: the device's last_seen_at is its latest report's reported_at.
    rows = [{**d, "last_seen_at": now} for d in devices(org, count, tag="A")]
    pool = uuid.UUID(pool_id)
    reports = [{"id": new_id(), "device_id": d["id"], "reported_at": now, "items": 1} for d in rows]
    software = [{"id": new_id(), "device_id": d["id"], "reported_at": now, "name": "WPS Office",
                 "category": "office"} for d in rows]
    allocations = [{"id": new_id(), "pool_id": pool, "org_id": d["org_id"], "assignee_type": "device",
                    "assignee_id": str(d["id"]), "device_id": d["id"],
                    # One office seat per computer: slot 1 of the category (98号, docs/licenses.md).
                    "category": "office", "slot": 1, "status": "active", "allocated_at": now,
                    "created_at": now, "updated_at": now} for d in rows[: count // 2]]
    entries = [{"id": new_id(), "allocation_id": a["id"], "pool_id": pool, "category": "office",
                "device_id": a["device_id"], "kind": "allocated", "actor": "bench", "at": now} for a in allocations]

    async def work(session):
        await insert(session, Device, rows)
        await insert(session, InventoryReport, reports)
        await insert(session, InstalledSoftware, software)
        await insert(session, Allocation, allocations)
        await insert(session, AllocationEntry, entries)
        await session.execute(sa.update(Pool).where(Pool.id == pool).values(
            allocated=Pool.allocated + len(allocations), updated_at=now))

    run(database_url, work)


def counter_and_rows(database_url: str, pool_id: str) -> tuple[int, int]:
    """A pool's `allocated` counter and its active allocations counted, in the licenses database
    itself, by one statement: both as of one moment, even while allocations still commit (a load
    generator that stops leaves requests in flight, and two reads could fall on either side of
    one). The service changes both in one transaction, so they must agree at every moment."""

    async def work(session):
        rows = (sa.select(sa.func.count()).select_from(Allocation)
                .where(Allocation.pool_id == Pool.id, Allocation.status == "active").scalar_subquery())
        both = sa.select(Pool.allocated, rows).where(Pool.id == uuid.UUID(pool_id))
        return tuple((await session.execute(both)).one())

    return run(database_url, work)


def unpublished_events(database_url: str) -> int:
    """Events in the outbox its relay has not published yet."""

    async def work(session):
        return await session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.published_at.is_(None)))

    return run(database_url, work)


async def watch_entitlements(database_url: str, wanted: Callable[[], Collection[str]], seen: dict[str, float],
                             stop: asyncio.Event, *, every: float = 0.02) -> None:
    """Until `stop`, notes in `seen` when each order entitlement whose reference is `wanted` is first
    visible committed in the licenses database (time.perf_counter() once the read that saw it has
    answered: never earlier than its commit, at most one read late)."""
    db = Database(database_url, pool_size=1)
    try:
        while not stop.is_set():
            pending = [reference for reference in wanted() if reference not in seen]
            if pending:
                async with db.session() as session:
                    found = (await session.execute(sa.select(Entitlement.reference).where(
                        Entitlement.source == "order", Entitlement.reference.in_(pending)))).scalars().all()
                now = time.perf_counter()
                for reference in found:
                    seen.setdefault(reference, now)
            await asyncio.sleep(every)
    finally:
        await db.dispose()


def devices_with_titles(database_url: str, org: dict, software: Sequence[dict], seats: Sequence[tuple[dict, float]],
                        count: int) -> None:
    """`count` devices of `org`, each with an inventory report of the entries of `software` (dicts
    of name, vendor, version, title_id, not_a_product, and `every`: on one device in that many),
    and seats of `seats` ((pool, share): the first share of the devices hold one of that pool),
    written as the API writes them (recognized entries, ledger lines, the pools' counters)."""
    now = utcnow()
    rows = [{**d, "last_seen_at": now} for d in devices(org, count, tag="T")]
    entries = [{"id": new_id(), "device_id": d["id"], "reported_at": now, "name": s["name"], "vendor": s["vendor"],
                "version": s["version"], "category": None, "title_id": s["title_id"],
                "not_a_product": s["not_a_product"]}
               for n, d in enumerate(rows) for s in software if n % s["every"] == 0]
    reports = [{"id": new_id(), "device_id": d["id"], "reported_at": now, "items": len(software)} for d in rows]
    allocations, ledger = [], []
    for pool, share in seats:
        for d in rows[: int(count * share)]:
            allocation = {"id": new_id(), "pool_id": uuid.UUID(pool["id"]), "org_id": d["org_id"],
                          "assignee_type": "device", "assignee_id": str(d["id"]), "device_id": d["id"],
                          "category": pool["category"], "slot": 1, "status": "active", "allocated_at": now,
                          "created_at": now, "updated_at": now}
            allocations.append(allocation)
            ledger.append({"id": new_id(), "allocation_id": allocation["id"], "pool_id": allocation["pool_id"],
                           "category": pool["category"], "device_id": d["id"], "kind": "allocated",
                           "actor": "bench", "at": now})

    async def work(session):
        await insert(session, Device, rows)
        await insert(session, InventoryReport, reports)
        await insert(session, InstalledSoftware, entries)
        await insert(session, Allocation, allocations)
        await insert(session, AllocationEntry, ledger)
        for pool, share in seats:
            await session.execute(sa.update(Pool).where(Pool.id == uuid.UUID(pool["id"])).values(
                allocated=Pool.allocated + int(count * share), updated_at=now))

    run(database_url, work)


def audit_entries(database_url: str, path: str) -> int:
    """Entries of the audit log (the gateway's database) for requests to `path`."""

    async def work(session):
        return await session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.path == path))

    return run(database_url, work)


def annual_report(database_url: str, report_id: str) -> dict:
    """An annual report's year, snapshot and countable totals, as stored."""

    async def work(session):
        found = await session.get(AnnualReport, uuid.UUID(report_id))
        return {"year": found.year, "snapshot": found.snapshot, "totals": found.totals}

    return run(database_url, work)


def submitted_reports(database_url: str, province: dict, report: dict, count: int) -> None:
    """`count` submitted annual reports like `report` (its year, snapshot and countable totals) for
    units below `province` (units that need not exist as orgs: the roll-up reads the reports' paths)."""
    now = utcnow()
    rows = []
    for _ in range(count):
        org_id = new_id()
        rows.append({"id": new_id(), "org_id": org_id, "org_path": f"{province['path']}{org_id.hex}/",
                     "year": report["year"], "responsible_person": "基准", "phone": "010-00000000", "notes": None,
                     "status": "submitted", "snapshot": report["snapshot"], "totals": report["totals"],
                     "submitted_at": now, "late": False, "created_by": "bench", "created_at": now, "updated_at": now})

    async def work(session):
        await insert(session, AnnualReport, rows)

    run(database_url, work)


async def delivery_hops(procurement_url: str, licenses_url: str) -> dict[str, tuple[float, float, float]]:
    """For each delivered order (by id): when procurement wrote its event into the outbox, when
    procurement's relay marked it published (after JetStream acknowledged it), and when licenses'
    consumer began the transaction that applied it (its inbox row), as Unix times from the
    databases' rows: where a delivery's time goes between the request and its seats."""
    import json

    from kernel.schema import inbox
    procurement, licenses = Database(procurement_url, pool_size=1), Database(licenses_url, pool_size=1)
    try:
        async with procurement.session() as session:
            rows = (await session.execute(sa.select(outbox.c.event_id, outbox.c.payload, outbox.c.created_at,
                                                    outbox.c.published_at)
                                          .where(outbox.c.subject == "procurement.order.delivered"))).all()
        async with licenses.session() as session:
            applied = dict((await session.execute(sa.select(inbox.c.event_id, inbox.c.processed_at).where(
                inbox.c.consumer == "licenses--procurement-order-delivered"))).all())
    finally:
        await procurement.dispose()
        await licenses.dispose()
    return {json.loads(r.payload)["data"]["order_id"]: (r.created_at.timestamp(), r.published_at.timestamp(),
                                                        applied[r.event_id].timestamp())
            for r in rows if r.published_at is not None and r.event_id in applied}
