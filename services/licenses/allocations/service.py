"""Seats taken and given back. The hot path is one conditional UPDATE of the pool counter plus
inserts, in one transaction: never read-then-write, so no interleaving can over-allocate."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import PoolLow, SeatAllocated, SeatReclaimed
from kernel.errors import Conflict, NotFound
from kernel.events import Event, new_event
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory, in_subtree
from kernel.outbox import add_events
from services.licenses.allocations import schemas
from services.licenses.allocations.models import Allocation, AllocationEntry, ReclaimRun
from services.licenses.devices.models import Device
from services.licenses.pools import service as pools
from services.licenses.pools.models import Pool

SOURCE = pools.SOURCE


def device_id_of(assignee_type: str, assignee_id: str) -> uuid.UUID | None:
    """A device assignee named by a device id links the seat to that device (for compliance)."""
    if assignee_type != "device":
        return None
    try:
        return uuid.UUID(assignee_id)
    except ValueError:
        return None


async def active_allocation(session: AsyncSession, pool_id: uuid.UUID, assignee_type: str,
                            assignee_id: str) -> Allocation | None:
    return (await session.execute(sa.select(Allocation).where(
        Allocation.pool_id == pool_id, Allocation.assignee_type == assignee_type,
        Allocation.assignee_id == assignee_id, Allocation.status == "active"))).scalar_one_or_none()


def low_event(pool_id, org_id, total: int, allocated: int, threshold: int | None, taken: int) -> Event | None:
    """`licenses.pool.low` when this change took the available seats below the pool's threshold."""
    after = total - allocated
    if threshold is None or not (after < threshold <= after + taken):
        return None
    return new_event("licenses.pool.low", PoolLow(pool_id=pool_id, org_id=org_id, available=after,
                                                   threshold=threshold), source=SOURCE, about=pool_id)


async def allocate_seat(session: AsyncSession, principal: Principal, pool_id: uuid.UUID,
                        data: schemas.AllocationCreate) -> tuple[schemas.AllocationOut, bool]:
    """Takes one seat for the assignee; (allocation, True) when new, (existing, False) when held."""
    if principal.roles == frozenset({"auditor"}) or not principal.has_any(*pools.WRITERS):
        pools.require_writer(principal, await pools.visible_pool(session, principal, pool_id))
    now = utcnow()
    # The pool's row is the one every allocation of this pool queues on, so its lock is taken last:
    # the rows are written first and the counter moves just before the commit, instead of the lock
    # being held over four round trips (docs/performance.md has the figures).
    # The hot path speaks Core to the tables, skipping the ORM's bulk-DML bookkeeping, and passes
    # rows as parameters so that each statement's compiled form is cached.
    pool = Pool.__table__.c
    found = (await session.execute(sa.select(pool.org_id, pool.category).where(
        pool.id == pool_id, in_subtree(pool.org_path, principal)))).first()
    if found is None:
        await pools.visible_pool(session, principal, pool_id)  # says why: not found, or not yours
        raise NotFound(f"no pool {pool_id}")
    allocation_id, device_id = new_id(), device_id_of(data.assignee_type, data.assignee_id)
    row = dict(id=allocation_id, pool_id=pool_id, org_id=found.org_id, assignee_type=data.assignee_type,
               assignee_id=data.assignee_id, device_id=device_id, status="active", reason=None, allocated_at=now,
               reclaimed_at=None, created_at=now, updated_at=now)
    try:
        await session.execute(sa.insert(Allocation.__table__), row)
    except IntegrityError:
        # The assignee already holds a seat of this pool (perhaps taken a moment ago by a request
        # racing this one): answer with that seat.
        await session.rollback()
        existing = await active_allocation(session, pool_id, data.assignee_type, data.assignee_id)
        if existing is None:
            raise
        return schemas.AllocationOut.model_validate(existing), False
    await session.execute(sa.insert(AllocationEntry.__table__), dict(
        id=new_id(), allocation_id=allocation_id, pool_id=pool_id, category=found.category, device_id=device_id,
        kind="allocated", reason=None, actor=history.actor_of(principal), at=now))
    await add_events(session, [new_event("licenses.seat.allocated", SeatAllocated(
        allocation_id=allocation_id, pool_id=pool_id, org_id=found.org_id, assignee_type=data.assignee_type,
        assignee_id=data.assignee_id), source=SOURCE, about=allocation_id)])
    # The guard: a seat only while one is left. No seat, and everything above is rolled back.
    taken = (await session.execute(
        sa.update(Pool.__table__).where(pool.id == pool_id, pool.allocated < pool.total)
        .values(allocated=pool.allocated + 1, updated_at=now)
        .returning(pool.total, pool.allocated, pool.low_threshold))).first()
    if taken is None:
        await session.rollback()
        raise Conflict(f"pool {pool_id} has no seat left", slug="no-seats-available",
                       title="No seats available in this pool")
    if low := low_event(pool_id, found.org_id, taken.total, taken.allocated, taken.low_threshold, 1):
        await add_events(session, [low])
    await session.commit()
    return schemas.AllocationOut(**row), True


async def allocate_bulk(session: AsyncSession, principal: Principal, pool_id: uuid.UUID,
                        data: schemas.BulkAllocationCreate) -> schemas.BulkResult:
    """Allocates to many assignees at once, as many as there are seats, in the order given."""
    pool = await pools.visible_pool(session, principal, pool_id)
    pools.require_writer(principal, pool)
    wanted: dict[tuple[str, str], None] = dict.fromkeys((i.assignee_type, i.assignee_id) for i in data.items)
    held: dict[tuple[str, str], uuid.UUID] = {}
    ids = [assignee_id for _, assignee_id in wanted]
    for start in range(0, len(ids), 500):
        rows = await session.execute(sa.select(Allocation.id, Allocation.assignee_type, Allocation.assignee_id).where(
            Allocation.pool_id == pool_id, Allocation.status == "active",
            Allocation.assignee_id.in_(ids[start:start + 500])))
        held.update({(r.assignee_type, r.assignee_id): r.id for r in rows
                     if (r.assignee_type, r.assignee_id) in wanted})
    new = [key for key in wanted if key not in held]
    # Lock the pool row for the count (SQLite's BEGIN IMMEDIATE already holds the write lock).
    locked = (await session.execute(sa.select(Pool.total, Pool.allocated).where(Pool.id == pool_id)
                                    .with_for_update())).one()
    granted = new[:max(0, min(len(new), locked.total - locked.allocated))]
    now, actor = utcnow(), history.actor_of(principal)
    results: dict[tuple[str, str], schemas.BulkItemResult] = {}
    if granted:
        bumped = (await session.execute(
            sa.update(Pool).where(Pool.id == pool_id, Pool.allocated + len(granted) <= Pool.total)
            .values(allocated=Pool.allocated + len(granted), updated_at=now)
            .returning(Pool.total, Pool.allocated))).first()
        if bumped is None:  # cannot happen under the lock; the condition stays as the guarantee
            raise Conflict("the pool changed during the bulk allocation; try again", slug="pool-busy")
        rows, entries, events = [], [], []
        for assignee_type, assignee_id in granted:
            allocation_id, device_id = new_id(), device_id_of(assignee_type, assignee_id)
            rows.append(dict(id=allocation_id, pool_id=pool_id, org_id=pool.org_id, assignee_type=assignee_type,
                             assignee_id=assignee_id, device_id=device_id, status="active", reason=None,
                             allocated_at=now, reclaimed_at=None, created_at=now, updated_at=now))
            entries.append(dict(id=new_id(), allocation_id=allocation_id, pool_id=pool_id, category=pool.category,
                                device_id=device_id, kind="allocated", reason=None, actor=actor, at=now))
            events.append(new_event("licenses.seat.allocated", SeatAllocated(
                allocation_id=allocation_id, pool_id=pool_id, org_id=pool.org_id, assignee_type=assignee_type,
                assignee_id=assignee_id), source=SOURCE, about=allocation_id))
            results[(assignee_type, assignee_id)] = schemas.BulkItemResult(
                assignee_type=assignee_type, assignee_id=assignee_id, status=201, allocation_id=allocation_id)
        await session.execute(sa.insert(Allocation), rows)
        await session.execute(sa.insert(AllocationEntry), entries)
        if low := low_event(pool_id, pool.org_id, bumped.total, bumped.allocated, pool.low_threshold, len(granted)):
            events.append(low)
        await add_events(session, events)
        await history.record(session, "pool", pool_id, "bulk_allocated", principal, {"seats": len(granted)})
    await session.commit()
    for key, allocation_id in held.items():
        results[key] = schemas.BulkItemResult(assignee_type=key[0], assignee_id=key[1], status=200,
                                              allocation_id=allocation_id)
    items = [results.get((i.assignee_type, i.assignee_id)) or schemas.BulkItemResult(
        assignee_type=i.assignee_type, assignee_id=i.assignee_id, status=409, problem="no-seats-available")
        for i in data.items]
    return schemas.BulkResult(pool_id=pool_id, allocated=len(granted), existing=len(held),
                              refused=sum(1 for i in items if i.status == 409), items=items)


async def reclaim_allocations(session: AsyncSession, allocation_ids: list[uuid.UUID], reason: str,
                              actor: Principal | str, now: datetime | None = None) -> list[uuid.UUID]:
    """Gives seats back (those still active), with ledger lines and events; returns the ones reclaimed."""
    now = now or utcnow()
    reclaimed = []
    for start in range(0, len(allocation_ids), 500):
        rows = (await session.execute(
            sa.update(Allocation).where(Allocation.id.in_(allocation_ids[start:start + 500]),
                                        Allocation.status == "active")
            .values(status="reclaimed", reason=reason, reclaimed_at=now, updated_at=now)
            .returning(Allocation.id, Allocation.pool_id, Allocation.org_id, Allocation.assignee_type,
                       Allocation.assignee_id, Allocation.device_id))).all()
        reclaimed.extend(rows)
    if not reclaimed:
        return []
    per_pool: dict[uuid.UUID, int] = {}
    for row in reclaimed:
        per_pool[row.pool_id] = per_pool.get(row.pool_id, 0) + 1
    categories = dict((await session.execute(sa.select(Pool.id, Pool.category).where(Pool.id.in_(per_pool)))).all())
    for pool_id, count in per_pool.items():
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
    if found is None or not principal.covers(found[1].org_path):
        raise NotFound(f"no allocation {allocation_id} in your subtree")
    return found[0], found[1]


async def reclaim_seat(session: AsyncSession, principal: Principal, allocation_id: uuid.UUID,
                       data: schemas.Reclaim) -> Allocation:
    allocation, pool = await visible_allocation(session, principal, allocation_id)
    pools.require_writer(principal, pool)
    if not await reclaim_allocations(session, [allocation.id], data.reason, principal):
        raise Conflict(f"allocation {allocation_id} was already reclaimed", slug="already-reclaimed")
    await session.commit()
    await session.refresh(allocation)
    return allocation


def allocations_query(principal: Principal, pool_id: uuid.UUID | None, assignee_id: str | None,
                      status: str | None) -> sa.Select:
    query = sa.select(Allocation).join(Pool, Pool.id == Allocation.pool_id).where(in_subtree(Pool.org_path, principal))
    if pool_id:
        query = query.where(Allocation.pool_id == pool_id)
    if assignee_id:
        query = query.where(Allocation.assignee_id == assignee_id)
    if status:
        query = query.where(Allocation.status == status)
    return query


async def allocation_history(session: AsyncSession, principal: Principal, allocation_id: uuid.UUID
                             ) -> list[history.HistoryEntry]:
    """An allocation's history is its lines in the ledger: who took the seat and who gave it back."""
    await visible_allocation(session, principal, allocation_id)
    entries = (await session.execute(sa.select(AllocationEntry).where(AllocationEntry.allocation_id == allocation_id)
                                     .order_by(AllocationEntry.at, AllocationEntry.kind))).scalars()
    return [history.HistoryEntry(id=e.id, object_type="allocation", object_id=allocation_id, action=e.kind,
                                 actor=e.actor, at=e.at, data={"pool_id": str(e.pool_id), "reason": e.reason})
            for e in entries]


def idle_first(query: sa.Select) -> sa.Select:
    """Seats whose device has been idle longest go first (never seen: first of all); among equals,
    the newest allocation."""
    return query.order_by(sa.nulls_first(Device.last_seen_at.asc()), Allocation.allocated_at.desc(),
                          Allocation.id.desc())


async def reclaim_run(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                      data: schemas.ReclaimRunCreate) -> ReclaimRun:
    org = await orgs.visible(session, principal, data.org_id)
    pools.require_writer(principal, org.path)
    now = utcnow()
    cutoff = now - timedelta(days=data.inactive_days)
    query = idle_first(
        sa.select(Allocation.id, Allocation.device_id, Allocation.pool_id)
        .join(Device, Device.id == Allocation.device_id)
        .join(Pool, Pool.id == Allocation.pool_id)
        .where(Allocation.status == "active", Device.status == "active",
               Device.org_path.startswith(org.path, autoescape=True), in_subtree(Pool.org_path, principal),
               sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < cutoff))
    ).limit(data.max_seats)
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
