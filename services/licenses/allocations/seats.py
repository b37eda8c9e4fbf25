"""The seat path: one transaction takes a seat for each of many asks, in three named steps.

    refuse  the asks that may not have a seat (no such pool, not the caller's to allocate, not an
            assignee of the pool, a retired device), the others' allocation rows made
    insert  the rows that may go in (the partial unique indexes decide), their ledger lines and events
    take    each pool's counter moved by the seats it has, in pool-id order; the rows of those that
            found none taken back

The hot path is never read-then-write: the unique indexes decide who holds a seat and which
computer may take one more of a category, the guarded counter update (CHECK allocated <= total
behind it) who gets one. So no interleaving can over-allocate, and replicas batching on their own
stay correct. Set-based for the bulk's sake: a fixed number of statements whatever the number of
asks, plus one counter update per pool, and per ask only the Python that builds its rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import PoolLow, SeatAllocated
from kernel.db import UTCDateTime, among, insert_rows
from kernel.errors import Conflict, DomainError, NotFound
from kernel.events import Event, new_event, new_events
from kernel.ids import new_ids, utcnow
from kernel.outbox import add_events
from kernel.schema import outbox
from services.licenses import visibility
from services.licenses.allocations import assignees, seat_limits
from services.licenses.allocations.models import Allocation, AllocationEntry
from services.licenses.pools import service as pools
from services.licenses.pools.models import Pool
from services.licenses.users.directory import UserDirectory

SOURCE = pools.SOURCE

Key = tuple[uuid.UUID, str, str]  # (pool_id, assignee_type, assignee_id): one live seat each


class SeatAsk:
    """One request for a seat of a pool, as it waits in a batch (slots and a key made once: a bulk
    makes ten thousand and reads each key several times)."""

    __slots__ = ("principal", "pool_id", "assignee_type", "assignee_id", "key")

    def __init__(self, principal: Principal, pool_id: uuid.UUID, assignee_type: str, assignee_id: str):
        self.principal = principal
        self.pool_id = pool_id
        self.assignee_type = assignee_type
        self.assignee_id = assignee_id
        self.key: Key = (pool_id, assignee_type, assignee_id)


# (the allocation's row, created), the error to answer, or None: ask again in the next batch.
Outcome = tuple[dict, bool] | DomainError | None


def key_of(row: dict) -> Key:
    return row["pool_id"], row["assignee_type"], row["assignee_id"]


def no_seat(pool_id: uuid.UUID) -> Conflict:
    return Conflict(f"pool {pool_id} has no seat left", slug="no-seats-available",
                    title="No seats available in this pool")


def category_taken(category: str, device_id: str, limit: int) -> Conflict:
    return Conflict(f"device {device_id} already holds {limit} seat(s) of category {category}, "
                    f"as many as one computer may", slug="category-already-licensed",
                    title="This computer already holds a seat of that category", category=category,
                    seats_per_device=limit)


def low_event(pool_id, org_id, total: int, allocated: int, threshold: int | None, taken: int) -> Event | None:
    """`licenses.pool.low` when this change took the available seats below the pool's threshold."""
    after = total - allocated
    if threshold is None or not (after < threshold <= after + taken):
        return None
    return new_event("licenses.pool.low", PoolLow(pool_id=pool_id, org_id=org_id, available=after,
                                                   threshold=threshold), source=SOURCE, about=pool_id)


# The hot path's statements, built once: SQLAlchemy then also keeps their cache keys, instead of
# building and hashing each statement again for every batch.
_pool = Pool.__table__.c
POOLS_OF_SEATS = sa.select(_pool.id, _pool.org_id, _pool.org_path, _pool.category).where(
    _pool.id.in_(sa.bindparam("ids", expanding=True)))
_SEATS = sa.bindparam("seats", type_=sa.BigInteger)
TAKE_SEATS = (sa.update(Pool.__table__)
              .where(_pool.id == sa.bindparam("pool_id"), _pool.allocated + _SEATS <= _pool.total)
              .values(allocated=_pool.allocated + _SEATS, updated_at=sa.bindparam("at", type_=UTCDateTime))
              .returning(_pool.id, _pool.total, _pool.allocated, _pool.low_threshold))
# The same for several pools in one statement (PostgreSQL): each pool's seats from two arrays,
# the pools locked first in id order (the subquery's lock is applied after its sort).
_IDS = sa.bindparam("ids", type_=postgresql.ARRAY(_pool.id.type))
_LOCKED = (sa.select(_pool.id).where(_pool.id == sa.any_(_IDS)).order_by(_pool.id)
           .with_for_update(key_share=True).subquery("locked"))
_ASKED = sa.func.unnest(_IDS, sa.bindparam("counts", type_=postgresql.ARRAY(sa.BigInteger))).table_valued(
    sa.column("id", _pool.id.type), sa.column("seats", sa.BigInteger)).render_derived(name="asked")
TAKE_SEATS_OF_POOLS = (sa.update(Pool.__table__)
                       .where(_pool.id == _LOCKED.c.id, _pool.id == _ASKED.c.id,
                              _pool.allocated + _ASKED.c.seats <= _pool.total)
                       .values(allocated=_pool.allocated + _ASKED.c.seats,
                               updated_at=sa.bindparam("at", type_=UTCDateTime))
                       .returning(_pool.id, _pool.total, _pool.allocated, _pool.low_threshold))


@dataclass
class PoolOfSeats:
    org_id: uuid.UUID
    org_path: str
    category: str


@dataclass
class Seating:
    """One batch of asks on its way through refuse → insert → take."""

    asks: list[SeatAsk]
    outcomes: list[Outcome]  # one per ask; None until decided
    pools: dict[uuid.UUID, PoolOfSeats] = field(default_factory=dict)
    first: dict[Key, int] = field(default_factory=dict)  # the first ask of each key; a repeat shares its answer
    rows: list[dict] = field(default_factory=list)  # the allocation rows of `first`, in arrival order
    device_paths: dict[uuid.UUID, str] = field(default_factory=dict)  # each device's org path
    new: list[dict] = field(default_factory=list)  # the rows inserted, in arrival order
    event_ids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # by allocation id
    held: dict[Key, dict] = field(default_factory=dict)  # seats the assignees held already
    over_limit: dict[Key, int] = field(default_factory=dict)  # devices at their category's limit


async def allocate_seats(session: AsyncSession, asks: list[SeatAsk], users: UserDirectory) -> list[Outcome]:
    """Takes one seat for each ask in the session's transaction, which the caller commits (the
    group commit of allocations.batching, the bulk allocation, an approved install request).

    Each ask gets what it would have got alone: (allocation, True) when new, (existing, False) when
    its assignee already holds a seat of the pool, or the error to answer (not found, forbidden, not
    an assignee of this pool (assignees.py), a computer that holds its seats of the category
    already, no seat left). When only k seats of a pool remain, its first k new assignees win; one
    pool's refusals never touch another's asks."""
    seating = await refuse(session, asks, users)
    if seating.rows:
        await insert(session, seating)
        await take(session, seating)
    return seating.outcomes


@retried
async def allocate_batch(session: AsyncSession, asks: list[SeatAsk], users: UserDirectory) -> list[Outcome]:
    """allocate_seats in a transaction of its own, committed (the group commit's)."""
    outcomes = await allocate_seats(session, asks, users)
    await session.commit()
    return outcomes


def pool_refusal(principal: Principal, pool_id: uuid.UUID, found: PoolOfSeats | None) -> DomainError | None:
    """Why `principal` may not allocate from the pool (`found`: its row or None), or None."""
    if found is None or not visibility.sees(principal, found.org_path):
        return NotFound(f"no pool {pool_id} in your subtree")
    try:
        visibility.IT_ADMINS.require(principal, found.org_path)
    except DomainError as refused:
        return refused
    return None


async def refuse(session: AsyncSession, asks: list[SeatAsk], users: UserDirectory) -> Seating:
    """Step one: the refusals, and the allocation rows of the asks that may have a seat."""
    seating = Seating(asks, [None] * len(asks))
    outcomes = seating.outcomes
    found = await session.execute(POOLS_OF_SEATS, {"ids": sorted({ask.pool_id for ask in asks})})
    # asyncpg's own UUID type made a standard one: orjson writes those in the events without help.
    seating.pools = {row.id: PoolOfSeats(uuid.UUID(str(row.org_id)), row.org_path, row.category) for row in found}
    cleared: set[tuple[int, uuid.UUID]] = set()  # (principal, pool) allowed: a bulk's asks share one
    for i, ask in enumerate(asks):
        if (id(ask.principal), ask.pool_id) not in cleared:
            outcomes[i] = pool_refusal(ask.principal, ask.pool_id, seating.pools.get(ask.pool_id))
            if outcomes[i] is None:
                cleared.add((id(ask.principal), ask.pool_id))
    checked = [i for i in range(len(asks)) if outcomes[i] is None]
    refused, seating.device_paths, assignee_ids = await assignees.refusals(session, users, [
        (asks[i].principal, (asks[i].assignee_type, asks[i].assignee_id), seating.pools[asks[i].pool_id].org_path)
        for i in checked])
    for i, refusal in zip(checked, refused, strict=True):
        outcomes[i] = refusal
    for i, ask in enumerate(asks):
        if outcomes[i] is None:
            seating.first.setdefault(ask.key, i)
    now = utcnow()
    for allocation_id, (pool_id, kind, assignee) in zip(new_ids(len(seating.first)), seating.first, strict=True):
        pool = seating.pools[pool_id]
        seating.rows.append(dict(
            id=allocation_id, pool_id=pool_id, org_id=pool.org_id, assignee_type=kind, assignee_id=assignee,
            # A device named by its id links the seat to it (for compliance, retirement, reclaims).
            device_id=assignee_ids[kind, assignee] if kind == "device" else None, category=pool.category,
            slot=None, status="active", reason=None, allocated_at=now, reclaimed_at=None, created_at=now,
            updated_at=now))
    return seating


async def insert(session: AsyncSession, seating: Seating) -> None:
    """Step two: the rows that may go in, with their ledger lines and events. They go in before
    the counters move, so that a pool's row stays locked for its counter's update and the commit
    only; the rare rows that then find no seat left are taken back with their lines and events."""
    limits = await device_limits(session, seating.rows, seating.device_paths)
    inserted = await insert_allocations(session, seating, limits)
    seating.new = new = [row for row in seating.rows if row["id"] in inserted]
    if not new:
        return
    asks, first = seating.asks, seating.first
    actors: dict[int, str] = {}  # by principal, made once each
    for ask in asks:
        if id(ask.principal) not in actors:
            actors[id(ask.principal)] = history.actor_of(ask.principal)
    at = new[0]["created_at"]
    await insert_rows(session, AllocationEntry.__table__, [
        dict(id=entry_id, allocation_id=row["id"], pool_id=row["pool_id"], category=row["category"],
             device_id=row["device_id"], kind="allocated", reason=None,
             actor=actors[id(asks[first[key_of(row)]].principal)], at=at)
        for entry_id, row in zip(new_ids(len(new)), new, strict=True)])
    events = new_events("licenses.seat.allocated", SeatAllocated, [
        dict(allocation_id=row["id"], pool_id=row["pool_id"], org_id=row["org_id"],
             assignee_type=row["assignee_type"], assignee_id=row["assignee_id"]) for row in new],
        source=SOURCE, about=[row["id"] for row in new])
    await add_events(session, events)
    seating.event_ids = {row["id"]: event.id for row, event in zip(new, events, strict=True)}


async def take(session: AsyncSession, seating: Seating) -> None:
    """Step three: each pool's counter moves by as many of its new rows as it has seats, and every
    ask gets its answer."""
    per_pool: dict[uuid.UUID, list[dict]] = {}
    for row in seating.new:
        per_pool.setdefault(row["pool_id"], []).append(row)
    winners: dict[Key, dict] = {}
    lost: set[Key] = set()
    low = []
    moved = await move_counters(session, {pool_id: len(new) for pool_id, new in per_pool.items()},
                                seating.new[0]["created_at"]) if per_pool else {}
    for pool_id in sorted(per_pool):
        new = per_pool[pool_id]
        if pool_id in moved:
            granted, after = len(new), moved[pool_id]
        else:
            granted, after = await take_what_is_left(session, pool_id, new,
                                                     [seating.event_ids[row["id"]] for row in new])
        winners.update((key_of(row), row) for row in new[:granted])
        lost.update(key_of(row) for row in new[granted:])
        if granted and (event := low_event(pool_id, new[0]["org_id"], after.total, after.allocated,
                                           after.low_threshold, granted)):
            low.append(event)
    if low:
        await add_events(session, low)
    first, outcomes = seating.first, seating.outcomes
    for i, ask in enumerate(seating.asks):
        if outcomes[i] is not None:
            continue
        key = ask.key
        if key in winners:
            outcomes[i] = (winners[key], first[key] == i)
        elif key in seating.held:
            outcomes[i] = (seating.held[key], False)
        elif key in seating.over_limit:
            outcomes[i] = category_taken(seating.pools[ask.pool_id].category, ask.assignee_id,
                                         seating.over_limit[key])
        elif key in lost:
            outcomes[i] = no_seat(ask.pool_id)
        # else: its key collided with a seat given back before it could be read; None: ask again.


async def device_limits(session: AsyncSession, rows: list[dict], device_paths: dict[uuid.UUID, str]
                        ) -> dict[tuple[uuid.UUID, str], int]:
    """The most seats of its pool's category each device of `rows` may hold, by (device, category),
    for the devices limited."""
    if not device_paths:
        return {}
    # The policies are asked about every (org path, category) of the batch first: few pairs (a bulk
    # is one pool's category and its devices' few org paths), and mostly no limit at all (a business
    # category), which then costs no look-up per row (each hashes a UUID in Python).
    paths, categories = set(device_paths.values()), {r["category"] for r in rows}
    every_pair_first = len(paths) * len(categories) <= len(rows)
    if every_pair_first:
        limits = await seat_limits.limits_of(session, [(path, category) for path in paths for category in categories])
        if all(limit is None for limit in limits.values()):
            return {}
    wanted = {(r["device_id"], r["category"]) for r in rows if r["device_id"] in device_paths}
    if not wanted:
        return {}
    if not every_pair_first:
        limits = await seat_limits.limits_of(session, {(device_paths[device], category) for device, category in wanted})
    return {(device, category): limits[device_paths[device], category] for device, category in wanted
            if limits[device_paths[device], category] is not None}


# A device whose limit is above one tries its lowest free slot again when a racer took it first.
SLOT_ATTEMPTS = 4


async def insert_allocations(session: AsyncSession, seating: Seating, limits: dict[tuple[uuid.UUID, str], int]
                             ) -> set[uuid.UUID]:
    """Inserts the rows that may go in and returns their ids; notes in `seating` the seats the
    others' assignees hold already (`held`) and the devices refused for their category (`over_limit`).

    Two partial unique indexes decide, not a read before the write: one active seat per pool and
    assignee, and one active seat per slot of a device's limited category. A row that meets either
    (or a racing transaction's row, which it waits for) is skipped; it is then answered with the
    seat of this pool its assignee holds (SPEC: that answer comes first), or refused when its
    device holds as many seats of the category as its limit, or tried again on a free slot."""
    for row in seating.rows:
        if (row["device_id"], row["category"]) in limits:
            row["slot"] = 1  # the only slot when the limit is one; the first to try otherwise
    table = Allocation.__table__
    # Keys go in in one global order (assignee, category, pool), so that two batches sharing
    # assignees wait for each other in one order only, on either index (no deadlock); seats still
    # go to the first come (`seating.rows` keeps the arrival order).
    pending = sorted(seating.rows, key=itemgetter("assignee_type", "assignee_id", "category", "pool_id"))
    inserted: set[uuid.UUID] = set()
    for _ in range(SLOT_ATTEMPTS):
        # Rows are written first and the contended counter moves last (docs/performance.md).
        inserted.update((await insert_rows(session, table, pending, skip_conflicts=True,
                                           returning=table.c.id)).scalars())
        skipped = [r for r in pending if r["id"] not in inserted]
        if not skipped:
            break
        seating.held.update(await active_allocations(session, [key_of(r) for r in skipped]))
        limited = [r for r in skipped if r["slot"] is not None and key_of(r) not in seating.held]
        if not limited:
            break
        taken = await slots_taken(session, [(r["device_id"], r["category"]) for r in limited])
        pending = []
        for row in limited:
            pair = (row["device_id"], row["category"])
            busy = taken.setdefault(pair, set())
            free = next((n for n in range(1, limits[pair] + 1) if n not in busy), None)
            if free is None:
                seating.over_limit[key_of(row)] = limits[pair]
            else:  # two rows of one device in this batch (two pools of the category) get two slots
                row["slot"] = free
                busy.add(free)
                pending.append(row)
        if not pending:
            break
    return inserted


async def slots_taken(session: AsyncSession, pairs: list[tuple[uuid.UUID, str]]
                      ) -> dict[tuple[uuid.UUID, str], set[int]]:
    """The slots each (device, category) takes now with its active seats (seats of any pool)."""
    table = Allocation.__table__
    wanted = set(pairs)
    categories = sorted({category for _, category in wanted})
    taken: dict[tuple[uuid.UUID, str], set[int]] = {}
    for among_asked in among(session, table.c.device_id, sorted({device for device, _ in wanted})):
        rows = await session.execute(sa.select(table.c.device_id, table.c.category, table.c.slot).where(
            among_asked, table.c.category.in_(categories), table.c.status == "active", table.c.slot.is_not(None)))
        for device_id, category, slot in rows:
            if (device_id, category) in wanted:
                taken.setdefault((device_id, category), set()).add(slot)
    return taken


async def move_counters(session: AsyncSession, seats: dict[uuid.UUID, int], at) -> dict[uuid.UUID, sa.Row]:
    """Moves each pool's counter by its `seats` where they all fit (the guarded update); returns
    the rows after of the pools moved, by id. The others are left as they were."""
    if len(seats) > 1 and session.bind.dialect.name == "postgresql":
        # One statement for all the batch's pools, where an update each made a many-pools batch
        # of k requests k round trips more (docs/performance.md). Its subquery locks the pools in
        # id order, the global lock order (kernel.contention), before the update's join visits
        # them in whatever order its plan has; FOR NO KEY UPDATE, as the update itself, does not
        # wait for the key-share locks of racing inserts. SQLite's BEGIN IMMEDIATE has serialized
        # the transaction already: there, an update each.
        ids = sorted(seats)
        moved = await session.execute(TAKE_SEATS_OF_POOLS, {"ids": ids, "counts": [seats[i] for i in ids], "at": at})
        return {row.id: row for row in moved}
    moved = {}
    for pool_id in sorted(seats):  # in pool-id order, the global lock order
        row = (await session.execute(TAKE_SEATS, {"pool_id": pool_id, "seats": seats[pool_id], "at": at})).first()
        if row is not None:
            moved[pool_id] = row
    return moved


async def take_what_is_left(session: AsyncSession, pool_id: uuid.UUID, new: list[dict], event_ids: list[uuid.UUID]):
    """When the pool has fewer seats left than `new` rows: moves its counter by as many as there
    are; returns (granted, the pool row after) and deletes the rows, ledger lines and events
    (`event_ids`, one per row) of those that got none (the last ones: first come, first served)."""
    # Count what is left under the row's lock (FOR NO KEY UPDATE does
    # not wait for the key-share locks that racing inserts hold on the pool row; SQLite's BEGIN
    # IMMEDIATE already holds the write lock), give those out and take the other rows back.
    left = (await session.execute(sa.select(_pool.total, _pool.allocated).where(_pool.id == pool_id)
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


async def active_allocations(session: AsyncSession, keys: list[Key]) -> dict[Key, dict]:
    """The rows of the seats these (pool, assignee) keys hold, by key."""
    wanted, held = set(keys), {}
    table = Allocation.__table__
    for among_pools in among(session, table.c.pool_id, sorted({pool_id for pool_id, _, _ in wanted})):
        for among_wanted in among(session, table.c.assignee_id, sorted({assignee for _, _, assignee in wanted})):
            rows = (await session.execute(sa.select(table).where(
                among_pools, among_wanted, table.c.status == "active"))).mappings()
            held.update({key_of(a): dict(a) for a in rows if key_of(a) in wanted})
    return held
