"""Seats taken in bulk and given back, and the allocations read. The seat path itself, which
single requests (through the group commit), the bulk and install requests share, is seats.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import SeatReclaimed
from kernel.errors import DomainError, NotFound
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory
from kernel.outbox import add_events
from kernel.pagination import Page, paginate
from services.licenses import visibility
from services.licenses.allocations import schemas, seats
from services.licenses.allocations.models import ALLOCATION, Allocation, AllocationEntry, ReclaimRun
from services.licenses.devices.models import Device
from services.licenses.pools import service as pools
from services.licenses.pools.models import Pool
from services.licenses.users.directory import UserDirectory

SOURCE = pools.SOURCE


@retried
async def allocate_bulk(session: AsyncSession, principal: Principal, users: UserDirectory, pool_id: uuid.UUID,
                        data: schemas.BulkAllocationCreate) -> dict[str, Any]:
    """Allocates to many assignees at once, as many as there are seats, in the order given: the
    same statements as a batch of single allocations, so a bulk racing single requests for the
    same assignees answers each with the seat it holds (200), never a unique-key error. Returns
    the answer as plain values in the shape of schemas.BulkResult (up to 10,000 items, written
    by the router without a model per item)."""
    pool = await pools.visible_pool(session, principal, pool_id)
    visibility.IT_ADMINS.require(principal, pool.org_path)
    asks = [seats.SeatAsk(principal, pool_id, item.assignee_type, str(item.assignee_id)) for item in data.items]
    outcomes = await seats.allocate_seats(session, asks, users)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for ask, outcome in zip(asks, outcomes, strict=True):
        if ask.key in results:
            continue  # a repeated item shares the first one's result
        if isinstance(outcome, tuple):
            row, created = outcome
            status, allocation_id, problem = 201 if created else 200, row["id"], None
        elif isinstance(outcome, DomainError):  # not an assignee of this pool, or no seat left
            status, allocation_id, problem = outcome.status, None, outcome.slug
        else:  # a seat given back while it was read is refused like no seat left
            status, allocation_id, problem = 409, None, "no-seats-available"
        results[ask.key] = {"assignee_type": ask.assignee_type, "assignee_id": ask.assignee_id, "status": status,
                            "allocation_id": allocation_id, "problem": problem}
    statuses = [result["status"] for result in results.values()]
    allocated = statuses.count(201)
    if allocated:
        await history.record(session, "pool", pool_id, "bulk_allocated", principal, {"seats": allocated})
    await session.commit()
    items = [results[ask.key] for ask in asks]
    return {"pool_id": pool_id, "allocated": allocated, "existing": statuses.count(200),
            "refused": sum(1 for item in items if item["status"] >= 400), "items": items}


async def reclaim_allocations(session: AsyncSession, allocation_ids: list[uuid.UUID], reason: str,
                              actor: Principal | str, now: datetime | None = None) -> list[uuid.UUID]:
    """Gives seats back (those still active), with ledger lines and events; returns the ones reclaimed."""
    now = now or utcnow()
    reclaimed = []
    for start in range(0, len(allocation_ids), 500):
        # One compare-and-set over the seats: a seat two reclaims race for moves once.
        reclaimed.extend(await ALLOCATION.apply_all(
            session, "reclaim", [Allocation.id.in_(allocation_ids[start:start + 500])],
            values={"reason": reason, "reclaimed_at": now, "updated_at": now},
            returning=(Allocation.pool_id, Allocation.org_id, Allocation.assignee_type, Allocation.assignee_id,
                       Allocation.device_id)))
    if not reclaimed:
        return []
    per_pool: dict[uuid.UUID, int] = {}
    for row in reclaimed:
        per_pool[row.pool_id] = per_pool.get(row.pool_id, 0) + 1
    categories = dict((await session.execute(sa.select(Pool.id, Pool.category).where(Pool.id.in_(per_pool)))).all())
    # The pools' counters in id order (the global lock order): two reclaims over devices with
    # seats of the same pools would otherwise each hold one pool and wait for the other.
    for pool_id, count in sorted(per_pool.items()):
        await session.execute(sa.update(Pool).where(Pool.id == pool_id)
                              .values(allocated=Pool.allocated - count, updated_at=now))
    await session.execute(sa.insert(AllocationEntry), [
        dict(id=new_id(), allocation_id=r.id, pool_id=r.pool_id, category=categories[r.pool_id],
             device_id=r.device_id, kind="reclaimed", reason=reason,
             actor=actor if isinstance(actor, str) else history.actor_of(actor), at=now) for r in reclaimed])
    await add_events(session, [new_event("licenses.seat.reclaimed", SeatReclaimed(
        allocation_id=r.id, pool_id=r.pool_id, org_id=r.org_id, assignee_type=r.assignee_type,
        assignee_id=r.assignee_id, reason=reason), source=SOURCE, about=r.id) for r in reclaimed])
    return [r.id for r in reclaimed]


async def visible_allocation(session: AsyncSession, principal: Principal, allocation_id: uuid.UUID
                             ) -> tuple[Allocation, Pool]:
    found = (await session.execute(sa.select(Allocation, Pool).join(Pool, Pool.id == Allocation.pool_id)
                                   .where(Allocation.id == allocation_id))).first()
    if found is None or not visibility.sees(principal, found[1].org_path):
        raise NotFound(f"no allocation {allocation_id} in your subtree")
    return found[0], found[1]


@retried
async def reclaim_seat(session: AsyncSession, principal: Principal, allocation_id: uuid.UUID,
                       data: schemas.Reclaim) -> Allocation:
    allocation, pool = await visible_allocation(session, principal, allocation_id)
    visibility.IT_ADMINS.require(principal, pool.org_path)
    ALLOCATION.require("reclaim", allocation.status)
    if not await reclaim_allocations(session, [allocation.id], data.reason, principal):
        raise ALLOCATION.conflict("reclaim", await ALLOCATION.status_of(session, allocation.id))
    await session.commit()
    await session.refresh(allocation)
    return allocation


def allocations_query(principal: Principal, pool_id: uuid.UUID | None, assignee_id: str | None,
                      status: str | None) -> sa.Select:
    query = (sa.select(Allocation).join(Pool, Pool.id == Allocation.pool_id)
             .where(visibility.scope(principal, Pool.org_path)))
    if pool_id:
        query = query.where(Allocation.pool_id == pool_id)
    if assignee_id:
        query = query.where(Allocation.assignee_id == assignee_id)
    if status:
        query = query.where(Allocation.status == status)
    return query


async def allocation_history(session: AsyncSession, principal: Principal, allocation_id: uuid.UUID, *,
                             cursor: str | None, limit: int) -> Page[history.HistoryEntry]:
    """An allocation's history is its lines in the ledger: who took the seat and who gave it back."""
    await visible_allocation(session, principal, allocation_id)
    entries, next_cursor = await paginate(
        session, sa.select(AllocationEntry).where(AllocationEntry.allocation_id == allocation_id), AllocationEntry.id,
        cursor=cursor, limit=limit)
    return Page(items=[history.HistoryEntry(id=e.id, object_type="allocation", object_id=allocation_id,
                                            action=e.kind, actor=e.actor, at=e.at,
                                            data={"pool_id": str(e.pool_id), "reason": e.reason}) for e in entries],
                next_cursor=next_cursor)


def idle_first(query: sa.Select) -> sa.Select:
    """Seats whose device has been idle longest go first (never seen: first of all); among equals,
    the newest allocation."""
    return query.order_by(sa.nulls_first(Device.last_seen_at.asc()), Allocation.allocated_at.desc(),
                          Allocation.id.desc())


@retried
async def reclaim_run(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                      data: schemas.ReclaimRunCreate) -> ReclaimRun:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.IT_ADMINS.require(principal, org.path)
    now = utcnow()
    cutoff = now - timedelta(days=data.inactive_days)
    query = idle_first(
        sa.select(Allocation.id, Allocation.device_id, Allocation.pool_id)
        .join(Device, Device.id == Allocation.device_id)
        .join(Pool, Pool.id == Allocation.pool_id)
        .where(Allocation.status == "active", Device.status == "active",
               Device.org_path.startswith(org.path, autoescape=True), visibility.scope(principal, Pool.org_path),
               sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < cutoff))
    ).limit(data.max_seats)
    if not data.dry_run and session.bind.dialect.name == "postgresql":
        # Runs at once each take seats no other run holds, rather than all picking the same idlest
        # seats and all but one finding them gone (SQLite's BEGIN IMMEDIATE runs them in turn).
        query = query.with_for_update(of=Allocation, skip_locked=True)
    candidates = (await session.execute(query)).all()
    reason = f"device inactive for {data.inactive_days} days or more"
    if not data.dry_run:
        done = set(await reclaim_allocations(session, [c.id for c in candidates], reason, principal, now))
        candidates = [c for c in candidates if c.id in done]
    run = ReclaimRun(org_id=org.id, inactive_days=data.inactive_days, max_seats=data.max_seats, dry_run=data.dry_run,
                     status="completed", created_by=history.actor_of(principal), created_at=now, updated_at=now,
                     seats=[{"allocation_id": str(c.id), "device_id": str(c.device_id), "pool_id": str(c.pool_id),
                             "reason": reason} for c in candidates])
    session.add(run)
    await session.flush()
    await history.record(session, "reclaim_run", run.id, "dry_run" if data.dry_run else "reclaimed", principal,
                         {"seats": len(candidates)})
    await session.commit()
    return run


async def visible_reclaim_run(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                              run_id: uuid.UUID) -> ReclaimRun:
    run = await session.get(ReclaimRun, run_id)
    if run is None:
        raise NotFound(f"no reclaim run {run_id}")
    await orgs.visible(session, principal, run.org_id)
    return run
