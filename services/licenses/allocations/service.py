"""Seats taken and given back. The hot path is one conditional UPDATE of the pool counter plus
inserts, in one transaction: never read-then-write, so no interleaving can over-allocate."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import PoolLow, SeatAllocated, SeatReclaimed
from kernel.db import UTCDateTime, among, insert_rows
from kernel.errors import Conflict, DomainError, NotFound
from kernel.events import Event, new_event, new_events
from kernel.ids import new_id, new_ids, utcnow
from kernel.orgs import OrgDirectory
from kernel.outbox import add_events
from kernel.pagination import Page, paginate
from kernel.schema import outbox
from services.licenses import visibility
from services.licenses.allocations import assignees, schemas, seat_limits
from services.licenses.allocations.models import ALLOCATION, Allocation, AllocationEntry, ReclaimRun
from services.licenses.devices.models import Device
from services.licenses.pools import service as pools
from services.licenses.pools.models import Pool
from services.licenses.users.directory import UserDirectory

SOURCE = pools.SOURCE


def low_event(pool_id, org_id, total: int, allocated: int, threshold: int | None, taken: int) -> Event | None:
    """`licenses.pool.low` when this change took the available seats below the pool's threshold."""
    after = total - allocated
    if threshold is None or not (after < threshold <= after + taken):
        return None
    return new_event("licenses.pool.low", PoolLow(pool_id=pool_id, org_id=org_id, available=after,
                                                   threshold=threshold), source=SOURCE, about=pool_id)


class SeatAsk:
    """One request for a seat, as it waits in a batch (slots and a key made once: a bulk makes
    ten thousand and reads each key several times)."""

    __slots__ = ("principal", "assignee_type", "assignee_id", "key")

    def __init__(self, principal: Principal, assignee_type: str, assignee_id: str):
        self.principal = principal
        self.assignee_type = assignee_type
        self.assignee_id = assignee_id
        self.key = (assignee_type, assignee_id)


# (the allocation's row, created), the error to answer, or None: ask again in the next batch.
Outcome = tuple[dict, bool] | DomainError | None


def no_seat(pool_id: uuid.UUID) -> Conflict:
    return Conflict(f"pool {pool_id} has no seat left", slug="no-seats-available",
                    title="No seats available in this pool")


# The hot path's statements, built once: SQLAlchemy then also keeps their cache keys, instead of
# building and hashing each statement again for every batch.
_pool = Pool.__table__.c
POOL_OF_SEATS = sa.select(_pool.org_id, _pool.org_path, _pool.category).where(_pool.id == sa.bindparam("pool_id"))
_SEATS = sa.bindparam("seats", type_=sa.BigInteger)
TAKE_SEATS = (sa.update(Pool.__table__)
              .where(_pool.id == sa.bindparam("pool_id"), _pool.allocated + _SEATS <= _pool.total)
              .values(allocated=_pool.allocated + _SEATS, updated_at=sa.bindparam("at", type_=UTCDateTime))
              .returning(_pool.total, _pool.allocated, _pool.low_threshold))


def pool_refusal(principal: Principal, pool_id: uuid.UUID, found) -> DomainError | None:
    """Why `principal` may not allocate from the pool (`found`: its row or None), or None."""
    if found is None or not visibility.sees(principal, found.org_path):
        return NotFound(f"no pool {pool_id} in your subtree")
    try:
        pools.require_writer(principal, found.org_path)
    except DomainError as refused:
        return refused
    return None


async def allocate_seats(session: AsyncSession, pool_id: uuid.UUID, asks: list[SeatAsk],
                         users: UserDirectory) -> list[Outcome]:
    """Takes one seat for each ask in the session's transaction, which the caller commits (the
    group commit of allocations.batching, and the bulk allocation).

    Each ask gets what it would have got alone: (allocation, True) when new, (existing, False) when
    its assignee already holds a seat of the pool, or the error to answer (not found, forbidden, not
    an assignee of this pool (assignees.py), a computer that holds its seats of the category
    already, no seat left). When only k seats remain, the first k new assignees win. The database
    stays the arbiter, so replicas batching on their own stay correct: the partial unique indexes
    decide who holds a seat and which computer may take one more of a category, the guarded counter
    update (CHECK allocated <= total behind it) who gets one.

    Set-based for the bulk's sake: a fixed number of statements whatever the number of asks (each
    insert one statement, kernel.db.insert_rows), and per ask only the Python that builds its rows."""
    found = (await session.execute(POOL_OF_SEATS, {"pool_id": pool_id})).first()
    outcomes: list[Outcome] = [None] * len(asks)
    cleared: set[int] = set()  # the principals that may allocate from the pool: a bulk's asks share one
    for i, ask in enumerate(asks):
        if id(ask.principal) not in cleared:
            outcomes[i] = pool_refusal(ask.principal, pool_id, found)
            if outcomes[i] is None:
                cleared.add(id(ask.principal))
    checked = [i for i in range(len(asks)) if outcomes[i] is None]
    refused, device_paths, assignee_ids = await assignees.refusals(
        session, users, found.org_path if found else "", [(asks[i].principal, asks[i].key) for i in checked])
    for i, refusal in zip(checked, refused, strict=True):
        outcomes[i] = refusal
    # The first ask of each assignee inserts; a repeat in the same batch shares its answer.
    first: dict[tuple[str, str], int] = {}
    for i, ask in enumerate(asks):
        if outcomes[i] is None:
            first.setdefault(ask.key, i)
    if not first:
        return outcomes
    now = utcnow()
    # asyncpg's own UUID type made a standard one: orjson writes those in the events without help.
    org_id, category = uuid.UUID(str(found.org_id)), found.category
    rows = [dict(id=allocation_id, pool_id=pool_id, org_id=org_id, assignee_type=kind, assignee_id=assignee,
                 # A device named by its id links the seat to it (for compliance, retirement, reclaims).
                 device_id=assignee_ids[kind, assignee] if kind == "device" else None, category=category,
                 slot=None, status="active", reason=None, allocated_at=now, reclaimed_at=None, created_at=now,
                 updated_at=now)
            for allocation_id, (kind, assignee) in zip(new_ids(len(first)), first, strict=True)]
    limits = await device_limits(session, category, rows, device_paths)
    inserted, held, over_limit = await insert_allocations(session, pool_id, category, rows, limits)
    new = [row for row in rows if row["id"] in inserted]
    # The ledger lines and events of the new seats go in before the counter too, so that the pool's
    # row stays locked for the counter's update and the commit only; the rare requests that find
    # no seat left have theirs taken back with their rows.
    actors: dict[int, str] = {}  # by principal, made once each
    for ask in asks:
        if id(ask.principal) not in actors:
            actors[id(ask.principal)] = history.actor_of(ask.principal)
    events = []
    if new:
        await insert_rows(session, AllocationEntry.__table__, [
            dict(id=entry_id, allocation_id=row["id"], pool_id=pool_id, category=category,
                 device_id=row["device_id"], kind="allocated", reason=None,
                 actor=actors[id(asks[first[row["assignee_type"], row["assignee_id"]]].principal)], at=now)
            for entry_id, row in zip(new_ids(len(new)), new, strict=True)])
        events = new_events("licenses.seat.allocated", SeatAllocated, [
            dict(allocation_id=row["id"], pool_id=pool_id, org_id=org_id, assignee_type=row["assignee_type"],
                 assignee_id=row["assignee_id"]) for row in new], source=SOURCE, about=[row["id"] for row in new])
        await add_events(session, events)
    granted, taken = await take_seats(session, pool_id, new, [e.id for e in events])
    winners = {(r["assignee_type"], r["assignee_id"]): r for r in new[:granted]}
    if granted and (low := low_event(pool_id, org_id, taken.total, taken.allocated, taken.low_threshold, granted)):
        await add_events(session, [low])
    lost = {(r["assignee_type"], r["assignee_id"]) for r in new[granted:]}
    for i, ask in enumerate(asks):
        if outcomes[i] is not None:
            continue
        key = ask.key
        if key in winners:
            outcomes[i] = (winners[key], first[key] == i)
        elif key in held:
            outcomes[i] = (held[key], False)
        elif key in over_limit:
            outcomes[i] = category_taken(category, ask.assignee_id, over_limit[key])
        elif key in lost:
            outcomes[i] = no_seat(pool_id)
        # else: its key collided with a seat given back before it could be read; None: ask again.
    return outcomes


@retried
async def allocate_batch(session: AsyncSession, pool_id: uuid.UUID, asks: list[SeatAsk],
                         users: UserDirectory) -> list[Outcome]:
    """allocate_seats in a transaction of its own, committed (the group commit's)."""
    outcomes = await allocate_seats(session, pool_id, asks, users)
    await session.commit()
    return outcomes


def category_taken(category: str, device_id: str, limit: int) -> Conflict:
    return Conflict(f"device {device_id} already holds {limit} seat(s) of category {category}, "
                    f"as many as one computer may", slug="category-already-licensed",
                    title="This computer already holds a seat of that category", category=category,
                    seats_per_device=limit)


async def device_limits(session: AsyncSession, category: str, rows: list[dict],
                        device_paths: dict[uuid.UUID, str]) -> dict[uuid.UUID, int]:
    """The most seats of `category` each device of `rows` may hold, for the devices limited."""
    paths = {device_paths[r["device_id"]] for r in rows if r["device_id"] in device_paths}
    if not paths:
        return {}
    per_path = await seat_limits.seats_per_device(session, category, paths)
    return {r["device_id"]: per_path[device_paths[r["device_id"]]] for r in rows
            if r["device_id"] in device_paths and per_path[device_paths[r["device_id"]]] is not None}


# A device whose limit is above one tries its lowest free slot again when a racer took it first.
SLOT_ATTEMPTS = 4


async def insert_allocations(session: AsyncSession, pool_id: uuid.UUID, category: str, rows: list[dict],
                             limits: dict[uuid.UUID, int]) -> tuple[set, dict, dict]:
    """Inserts the rows that may go in; returns (the ids inserted, the seats of this pool held
    already by the others' assignees, the limit of each device refused for its category).

    Two partial unique indexes decide, not a read before the write: one active seat per pool and
    assignee, and one active seat per slot of a device's limited category. A row that meets either
    (or a racing transaction's row, which it waits for) is skipped; it is then answered with the
    seat of this pool its assignee holds (SPEC: that answer comes first), or refused when its
    device holds as many seats of the category as its limit, or tried again on a free slot."""
    for row in rows:
        if row["device_id"] in limits:
            row["slot"] = 1  # the only slot when the limit is one; the first to try otherwise
    table = Allocation.__table__
    # Keys go in in sorted order, so two batches sharing assignees wait for each other in one
    # order only (no deadlock); seats still go to the first come (`rows` keeps the arrival order).
    pending = sorted(rows, key=itemgetter("assignee_type", "assignee_id"))
    inserted, held, over_limit = set(), {}, {}
    for _ in range(SLOT_ATTEMPTS):
        # Rows are written first and the contended counter moves last (docs/performance.md).
        inserted.update((await insert_rows(session, table, pending, skip_conflicts=True,
                                           returning=table.c.id)).scalars())
        skipped = [r for r in pending if r["id"] not in inserted]
        if not skipped:
            break
        held.update(await active_allocations(session, pool_id, [(r["assignee_type"], r["assignee_id"])
                                                                for r in skipped]))
        limited = [r for r in skipped if r["slot"] is not None and (r["assignee_type"], r["assignee_id"]) not in held]
        if not limited:
            break
        taken = await slots_taken(session, category, [r["device_id"] for r in limited])
        pending = []
        for row in limited:
            free = [n for n in range(1, limits[row["device_id"]] + 1) if n not in taken.get(row["device_id"], ())]
            if free:
                row["slot"] = free[0]
                pending.append(row)
            else:
                over_limit[row["assignee_type"], row["assignee_id"]] = limits[row["device_id"]]
        if not pending:
            break
    return inserted, held, over_limit


async def slots_taken(session: AsyncSession, category: str, device_ids: list[uuid.UUID]
                      ) -> dict[uuid.UUID, set[int]]:
    """The slots of `category` the devices' active seats take now (seats of any pool)."""
    table = Allocation.__table__
    taken: dict[uuid.UUID, set[int]] = {}
    for among_asked in among(session, table.c.device_id, sorted(set(device_ids))):
        rows = await session.execute(sa.select(table.c.device_id, table.c.slot).where(
            among_asked, table.c.category == category, table.c.status == "active", table.c.slot.is_not(None)))
        for device_id, slot in rows:
            taken.setdefault(device_id, set()).add(slot)
    return taken


async def take_seats(session: AsyncSession, pool_id: uuid.UUID, new: list[dict], event_ids: list[uuid.UUID]):
    """Moves the pool's counter by as many of `new` as there are seats; returns (granted, the pool
    row after) and deletes the rows, ledger lines and events (`event_ids`, one per row) of those
    that got none (the last ones: first come, first served)."""
    if not new:
        return 0, None
    pool = Pool.__table__.c
    bumped = (await session.execute(TAKE_SEATS, {"pool_id": pool_id, "seats": len(new),
                                                 "at": new[0]["created_at"]})).first()
    if bumped is not None:
        return len(new), bumped
    # Not enough seats for all: count what is left under the row's lock (FOR NO KEY UPDATE does
    # not wait for the key-share locks that racing inserts hold on the pool row; SQLite's BEGIN
    # IMMEDIATE already holds the write lock), give those out and take the other rows back.
    left = (await session.execute(sa.select(pool.total, pool.allocated).where(pool.id == pool_id)
                                  .with_for_update(key_share=True))).one()
    granted = max(0, min(len(new), left.total - left.allocated))
    losers = [row["id"] for row in new[granted:]]
    for among_losers in among(session, AllocationEntry.__table__.c.allocation_id, losers):
        await session.execute(sa.delete(AllocationEntry.__table__).where(among_losers))
    for among_losers in among(session, Allocation.__table__.c.id, losers):
        await session.execute(sa.delete(Allocation.__table__).where(among_losers))
    for among_dropped in among(session, outbox.c.event_id, event_ids[granted:]):
        await session.execute(sa.delete(outbox).where(among_dropped))
    if not granted:
        return 0, None
    bumped = (await session.execute(TAKE_SEATS, {"pool_id": pool_id, "seats": granted,
                                                 "at": new[0]["created_at"]})).one()
    return granted, bumped


async def active_allocations(session: AsyncSession, pool_id: uuid.UUID, keys: list[tuple[str, str]]
                             ) -> dict[tuple[str, str], dict]:
    """The rows of the seats these assignees hold in the pool, by (assignee_type, assignee_id)."""
    wanted, held = set(keys), {}
    table = Allocation.__table__
    for among_wanted in among(session, table.c.assignee_id, sorted({assignee_id for _, assignee_id in wanted})):
        rows = (await session.execute(sa.select(table).where(
            table.c.pool_id == pool_id, table.c.status == "active", among_wanted))).mappings()
        held.update({(a["assignee_type"], a["assignee_id"]): dict(a) for a in rows
                     if (a["assignee_type"], a["assignee_id"]) in wanted})
    return held


@retried
async def allocate_bulk(session: AsyncSession, principal: Principal, users: UserDirectory, pool_id: uuid.UUID,
                        data: schemas.BulkAllocationCreate) -> dict[str, Any]:
    """Allocates to many assignees at once, as many as there are seats, in the order given: the
    same statements as a batch of single allocations, so a bulk racing single requests for the
    same assignees answers each with the seat it holds (200), never a unique-key error. Returns
    the answer as plain values in the shape of schemas.BulkResult (up to 10,000 items, written
    by the router without a model per item)."""
    pool = await pools.visible_pool(session, principal, pool_id)
    pools.require_writer(principal, pool)
    asks = [SeatAsk(principal, item.assignee_type, str(item.assignee_id)) for item in data.items]
    outcomes = await allocate_seats(session, pool_id, asks, users)
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
    pools.require_writer(principal, pool)
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
    pools.require_writer(principal, org.path)
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
