"""Pools and entitlements: seats come in (entitlements, transfers) and go out (expiry, transfers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.bounds import RUNNING_TOTAL_MAX
from kernel.contention import lock_in_order, retried
from kernel.contracts import EntitlementAdded, PoolLow
from kernel.db import insert_ignore
from kernel.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from kernel.etags import check_if_match, etag
from kernel.events import Event, new_event
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory, OrgRef
from kernel.outbox import add_events
from kernel.pagination import paginate
from kernel.transitions import Change, Note
from services.licenses import visibility
from services.licenses.catalogue import service as catalogue
from services.licenses.pools import schemas
from services.licenses.pools.models import POOL, Entitlement, Pool, Transfer

SOURCE = "zhengban/licenses"


def product_key(product_id: uuid.UUID | None, vendor: str, product_name: str, metric: str) -> str:
    """Entitlements of one product make one pool: a catalogue product by its id, else by name."""
    if product_id is not None:
        return f"product:{product_id}"
    return f"name:{vendor.strip().lower()}|{product_name.strip().lower()}|{metric}"


async def visible_pool(session: AsyncSession, principal: Principal, pool_id: uuid.UUID) -> Pool:
    pool = await session.get(Pool, pool_id)
    if pool is None or not visibility.sees(principal, pool.org_path):
        raise NotFound(f"no pool {pool_id} in your subtree")
    return pool


async def ensure_pool(session: AsyncSession, org: OrgRef, *, product_id: uuid.UUID | None, product_name: str,
                      vendor: str, category: str, metric: str, title_id: uuid.UUID | None = None) -> Pool:
    key = product_key(product_id, vendor, product_name, metric)
    now = utcnow()
    # Insert-or-nothing, then read: two first entitlements racing for one product make one pool.
    await session.execute(insert_ignore(session, Pool.__table__, index_elements=["org_id", "product_key"]).values(
        id=new_id(), org_id=org.id, org_path=org.path, product_key=key, product_id=product_id,
        product_name=product_name, vendor=vendor, category=category, title_id=title_id, metric=metric, total=0,
        allocated=0, created_at=now, updated_at=now))
    return (await session.execute(sa.select(Pool).where(Pool.org_id == org.id, Pool.product_key == key)
                                  .execution_options(populate_existing=True))).scalar_one()


async def add_seats(session: AsyncSession, pool_id: uuid.UUID, seats: int, now: datetime) -> None:
    """Raises the pool's total by `seats`, unless that carries it past what a running total may
    hold (kernel.bounds.RUNNING_TOTAL_MAX): then 422, before the BIGINT overflows."""
    done = await session.execute(sa.update(Pool).where(Pool.id == pool_id, Pool.total <= RUNNING_TOTAL_MAX - seats)
                                 .values(total=Pool.total + seats, updated_at=now))
    if done.rowcount != 1:
        raise InvalidInput(f"pool {pool_id} cannot hold {seats} more seats: its total would pass {RUNNING_TOTAL_MAX}",
                           slug="running-total-out-of-range", limit=RUNNING_TOTAL_MAX)


@dataclass(frozen=True)
class NewEntitlement:
    """An entitlement to add: its org, who adds it, and what it grants."""

    org: OrgRef
    actor: Principal | str
    product_id: uuid.UUID | None
    product_name: str
    vendor: str
    category: str
    metric: str
    quantity: int
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    reference: str | None
    cause: Event | None = None  # the event that brought it (a delivery), which its own event continues
    title_id: uuid.UUID | None = None  # the catalogue title; None: recognized from vendor and product name


async def add_entitlements(session: AsyncSession, items: Sequence[NewEntitlement]) -> list[uuid.UUID | None]:
    """Adds entitlements and their seats to their orgs' pools; for each, the new entitlement's id, or
    None when its order's is already there (an order's reference is unique among entitlements from
    orders). A batch of deliveries costs a statement per pool, not per seat's entitlement: the rows
    in one, each pool's total raised once, the history and the events in one each."""
    now = utcnow()
    pools: dict[tuple[uuid.UUID, str], Pool] = {}
    titles: dict[tuple, uuid.UUID | None] = {}
    rows = []
    for item in items:
        named = (item.title_id, item.vendor, item.product_name)
        if named not in titles:
            titles[named] = await catalogue.title_for(session, *named)
        key = (item.org.id, product_key(item.product_id, item.vendor, item.product_name, item.metric))
        if key not in pools:
            pools[key] = await ensure_pool(session, item.org, product_id=item.product_id,
                                           product_name=item.product_name, vendor=item.vendor,
                                           category=item.category, metric=item.metric, title_id=titles[named])
        rows.append(dict(id=new_id(), pool_id=pools[key].id, org_id=item.org.id, product_id=item.product_id,
                         product_name=item.product_name, vendor=item.vendor, category=item.category,
                         title_id=titles[named], metric=item.metric, quantity=item.quantity, valid_from=item.valid_from,
                         valid_to=item.valid_to, source=item.source, reference=item.reference,
                         status="expired" if item.valid_to is not None and item.valid_to <= now else "active",
                         created_at=now, updated_at=now))
    table = Entitlement.__table__
    from_orders = [row for row in rows if row["source"] == "order"]
    others = [row for row in rows if row["source"] != "order"]
    added = {row["id"] for row in others}
    if from_orders:
        # RETURNING names the rows the unique reference let in: a repeat of an order adds nothing.
        added |= set((await session.execute(
            insert_ignore(session, table, index_elements=["reference"], index_where=sa.text("source = 'order'"))
            .returning(table.c.id), from_orders)).scalars())
    if others:
        await session.execute(sa.insert(table), others)
    added_rows = [row for row in rows if row["id"] in added]
    seats: dict[uuid.UUID, int] = {}
    for row in added_rows:
        if row["status"] == "active":
            seats[row["pool_id"]] = seats.get(row["pool_id"], 0) + row["quantity"]
    for pool_id, quantity in sorted(seats.items()):  # pools in id order: the global lock order
        await add_seats(session, pool_id, quantity, now)
    actors = {row["id"]: item.actor for row, item in zip(rows, items, strict=True)}
    causes = {row["id"]: item.cause for row, item in zip(rows, items, strict=True)}
    await history.record_each(session, "pool", [
        (row["pool_id"], "entitlement_added", actors[row["id"]],
         {"entitlement_id": str(row["id"]), "quantity": row["quantity"], "source": row["source"],
          "reference": row["reference"], "expired": row["status"] == "expired"}) for row in added_rows])
    await add_events(session, [new_event("licenses.entitlement.added", EntitlementAdded(
        entitlement_id=row["id"], pool_id=row["pool_id"], org_id=row["org_id"], product_id=row["product_id"],
        quantity=row["quantity"], source=row["source"], reference=row["reference"], valid_to=row["valid_to"]),
        source=SOURCE, about=row["pool_id"], cause=causes[row["id"]]) for row in added_rows])
    return [row["id"] if row["id"] in added else None for row in rows]


async def add_entitlement(session: AsyncSession, org: OrgRef, *, actor: Principal | str, **grant) -> Entitlement | None:
    """Adds an entitlement and its seats to the org's pool; None when this order's is already there."""
    (entitlement_id,) = await add_entitlements(session, [NewEntitlement(org, actor, **grant)])
    return None if entitlement_id is None else await session.get(Entitlement, entitlement_id)


async def create_entitlement(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                             data: schemas.EntitlementCreate) -> Entitlement:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.IT_ADMINS.require(principal, org.path)
    if data.valid_to is not None and data.valid_to <= utcnow():
        raise InvalidInput("valid_to is already past: an expired entitlement adds no seats", slug="already-expired")
    entitlement = await add_entitlement(session, org, actor=principal, **data.model_dump(exclude={"org_id"}))
    await session.commit()
    return entitlement


def entitlements_query(principal: Principal, org_id: uuid.UUID | None, pool_id: uuid.UUID | None) -> sa.Select:
    query = (sa.select(Entitlement).join(Pool, Pool.id == Entitlement.pool_id)
             .where(visibility.scope(principal, Pool.org_path)))
    if org_id:
        query = query.where(Entitlement.org_id == org_id)
    if pool_id:
        query = query.where(Entitlement.pool_id == pool_id)
    return query


def next_expiry_column():
    return (sa.select(sa.func.min(Entitlement.valid_to))
            .where(Entitlement.pool_id == Pool.id, Entitlement.status == "active", Entitlement.valid_to.is_not(None))
            .correlate(Pool).scalar_subquery().label("next_expiry"))


def pool_out(pool: Pool, next_expiry: datetime | None) -> schemas.PoolOut:
    return schemas.PoolOut(
        id=pool.id, org_id=pool.org_id, product_id=pool.product_id, product_name=pool.product_name,
        vendor=pool.vendor, category=pool.category, title_id=pool.title_id, metric=pool.metric, total=pool.total,
        allocated=pool.allocated,
        available=pool.total - pool.allocated, low_threshold=pool.low_threshold, next_expiry=next_expiry,
        created_at=pool.created_at, updated_at=pool.updated_at)


async def get_pool_out(session: AsyncSession, principal: Principal, pool_id: uuid.UUID) -> schemas.PoolOut:
    pool = await visible_pool(session, principal, pool_id)
    query = sa.select(next_expiry_column()).select_from(Pool).where(Pool.id == pool.id)
    expiry = (await session.execute(query)).scalar()
    return pool_out(pool, expiry)


async def list_pools(session: AsyncSession, principal: Principal, *, org_id, category, product_id, cursor, limit):
    query = sa.select(Pool, next_expiry_column()).where(visibility.scope(principal, Pool.org_path))
    if org_id:
        query = query.where(Pool.org_id == org_id)
    if category:
        query = query.where(Pool.category == category)
    if product_id:
        query = query.where(Pool.product_id == product_id)
    rows, next_cursor = await paginate(session, query, Pool.id, cursor=cursor, limit=limit)
    return [pool_out(pool, expiry) for pool, expiry in rows], next_cursor


def threshold_crossed(pool: Pool, threshold: int | None) -> list[Event]:
    """`licenses.pool.low` when a new threshold puts the seats already idle below it: whoever
    watches for low pools (a webhook, the console) hears it as if an allocation had done it. A pool
    that was below the old threshold already was announced then."""
    available = pool.total - pool.allocated
    was_low = pool.low_threshold is not None and available < pool.low_threshold
    if threshold is None or available >= threshold or was_low:
        return []
    return [new_event("licenses.pool.low", PoolLow(pool_id=pool.id, org_id=pool.org_id, available=available,
                                                  threshold=threshold), source=SOURCE, about=pool.id)]


def pool_etag(pool: Pool | schemas.PoolOut) -> str:
    """The version of what a PUT sets (the low-seat threshold); not the seat counts, which every
    allocation moves and no PUT writes."""
    return etag(pool.id, pool.low_threshold)


async def update_pool(session: AsyncSession, principal: Principal, pool_id: uuid.UUID,
                      data: schemas.PoolUpdate, *, if_match: str | None) -> schemas.PoolOut:
    pool = await visible_pool(session, principal, pool_id)
    visibility.IT_ADMINS.require(principal, pool.org_path)
    holds = check_if_match(if_match, pool_etag(pool), required=True)
    # Written over the version that was checked only: a PUT that changed it meanwhile wins, this one is 412.
    version = [Pool.low_threshold.is_not_distinct_from(pool.low_threshold)] if holds else []
    await POOL.apply(session, "set_threshold", pool.id, Note(principal, {"low_threshold": data.low_threshold}),
                     Change({"low_threshold": data.low_threshold}, where=version,
                            refused=PreconditionFailed("someone changed this pool since you read it: read it "
                                                       "again, then retry"),
                            events=threshold_crossed(pool, data.low_threshold)))
    await session.commit()
    return await get_pool_out(session, principal, pool_id)


@retried
async def transfer_seats(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                         data: schemas.TransferCreate) -> Transfer:
    """Moves idle seats to another org's pool of the same product, inside the caller's subtree."""
    source = await visible_pool(session, principal, data.from_pool_id)
    visibility.IT_ADMINS.require(principal, source.org_path)
    target_org = await orgs.visible(session, principal, data.to_org_id)
    visibility.IT_ADMINS.require(principal, target_org.path)
    if target_org.id == source.org_id:
        raise InvalidInput("seats move to another org, not to the same pool", slug="same-pool")
    now = utcnow()
    target = await ensure_pool(session, target_org, product_id=source.product_id, product_name=source.product_name,
                               vendor=source.vendor, category=source.category, metric=source.metric,
                               title_id=source.title_id)
    # Both pools are locked before either changes, in id order: a transfer A→B and one B→A at the
    # same moment then queue on the same first row instead of each holding one pool and waiting
    # for the other (a deadlock).
    await lock_in_order(session, Pool, [source.id, target.id])
    # Only idle seats move, and never more than there are: one conditional update decides (the
    # terms below are read under the pool's lock, after any other transfer or expiry of it).
    moved = await session.execute(
        sa.update(Pool).where(Pool.id == source.id, Pool.total - Pool.allocated >= data.seats)
        .values(total=Pool.total - data.seats, updated_at=now))
    if moved.rowcount != 1:
        raise Conflict(f"pool {source.id} has fewer than {data.seats} idle seats", slug="not-enough-idle-seats")
    transfer = Transfer(id=new_id(), from_pool_id=source.id, to_pool_id=target.id, to_org_id=target_org.id,
                        seats=data.seats, reason=data.reason, created_by=history.actor_of(principal), created_at=now,
                        updated_at=now)
    session.add(transfer)
    await session.flush()
    await move_terms(session, source, target, transfer, now)
    await add_seats(session, target.id, data.seats, now)
    detail = {"transfer_id": str(transfer.id), "seats": data.seats, "reason": data.reason}
    await history.record(session, "pool", source.id, "transferred_out", principal,
                         {**detail, "to_pool_id": str(target.id)})
    await history.record(session, "pool", target.id, "transferred_in", principal,
                         {**detail, "from_pool_id": str(source.id)})
    await history.record(session, "transfer", transfer.id, "created", principal, detail)
    await session.commit()
    return transfer


async def move_terms(session: AsyncSession, source: Pool, target: Pool, transfer: Transfer, now: datetime) -> None:
    """Transferred seats keep their term (SPEC): they are taken from the source's entitlements, those
    ending first first, and arrive as entitlements of the target with the same `valid_to`, which the
    expiry task then ends like any other."""
    left = transfer.seats
    terms = (await session.execute(
        sa.select(Entitlement).where(Entitlement.pool_id == source.id, Entitlement.status == "active",
                                     Entitlement.transferred_out < Entitlement.quantity)
        .order_by(sa.nulls_last(Entitlement.valid_to.asc()), Entitlement.created_at, Entitlement.id)
        .execution_options(populate_existing=True))).scalars().all()
    portions: list[tuple[Entitlement | None, int]] = []
    for entitlement in terms:
        if left == 0:
            break
        take = min(left, entitlement.quantity - entitlement.transferred_out)
        await session.execute(sa.update(Entitlement).where(Entitlement.id == entitlement.id)
                              .values(transferred_out=Entitlement.transferred_out + take, updated_at=now))
        portions.append((entitlement, take))
        left -= take
    if left:
        # Seats no live entitlement backs (moved in before terms travelled with them) stay perpetual.
        portions.append((None, left))
    await session.execute(sa.insert(Entitlement), [dict(
        id=new_id(), pool_id=target.id, org_id=target.org_id, product_id=source.product_id,
        product_name=source.product_name, vendor=source.vendor, category=source.category,
        title_id=source.title_id, metric=source.metric, quantity=take, transferred_out=0,
        valid_from=origin.valid_from if origin else None,
        valid_to=origin.valid_to if origin else None, source="transfer", reference=str(transfer.id),
        status="active", created_at=now, updated_at=now) for origin, take in portions])


async def visible_transfer(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> Transfer:
    transfer = await session.get(Transfer, transfer_id)
    if transfer is not None:
        source = await session.get(Pool, transfer.from_pool_id)
        if visibility.sees(principal, source.org_path):
            return transfer
    raise NotFound(f"no transfer {transfer_id} in your subtree")


def transfers_query(principal: Principal) -> sa.Select:
    return (sa.select(Transfer).join(Pool, Pool.id == Transfer.from_pool_id)
            .where(visibility.scope(principal, Pool.org_path)))
