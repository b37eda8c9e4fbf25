"""Subscriptions that end: their seats leave the pool, and seats beyond the new total come back."""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.background import run_every
from kernel.contention import retried
from kernel.contracts import EntitlementExpired
from kernel.db import Database
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.outbox import add_event
from services.licenses.allocations import service as allocations
from services.licenses.allocations.models import Allocation
from services.licenses.devices.models import Device
from services.licenses.pools.models import ENTITLEMENT, Entitlement, Pool
from services.licenses.pools.service import SOURCE

log = logging.getLogger("zhengban.licenses.expiry")

# How long an expiry waits, between attempts, for seats other transactions hold (see SeatsBusy):
# about six seconds in all, after which the next pass (every few seconds) takes it up again.
BUSY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


class SeatsBusy(Exception):
    """Too few of the pool's seats are free to take back: other transactions hold the rest."""


async def expire_entitlement(session: AsyncSession, entitlement_id, now: datetime) -> int | None:
    """Expires one entitlement (if still active); returns the seats reclaimed because of it."""
    pool_id = (await session.execute(sa.select(Entitlement.pool_id)
                                     .where(Entitlement.id == entitlement_id))).scalar_one()
    # The pool row is locked first, so allocations and transfers cannot slip in between the count and
    # the update (SQLite's BEGIN IMMEDIATE already holds the write lock).
    pool = (await session.execute(sa.select(Pool).where(Pool.id == pool_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one()
    if not await ENTITLEMENT.try_apply(session, "expire", entitlement_id, None):
        return None  # expired already (another replica's pass, or an earlier one)
    entitlement = await session.get(Entitlement, entitlement_id, populate_existing=True)
    # Seats transferred away earlier left with their term; they expire from the pools they went to.
    new_total = max(pool.total - (entitlement.quantity - entitlement.transferred_out), 0)
    excess = pool.allocated - new_total
    reclaimed: list = []
    if excess > 0:
        # The pool is locked before its seats here, the other way round from a retirement or a
        # reclaim (seats, then their pools). So seats another transaction holds are passed over
        # (SKIP LOCKED: that one is giving them back or using them), and this one never waits for
        # a seat while holding the pool: when too few are free it gives up the pool and tries
        # again (`expire_due`), by which time the holders are done. Waiting instead deadlocked
        # with the retirements of the pool's devices, and PostgreSQL broke it by failing either
        # side, a retirement as often as the expiry (test_lock_order).
        idle = allocations.idle_first(
            sa.select(Allocation.id).outerjoin(Device, Device.id == Allocation.device_id)
            .where(Allocation.pool_id == pool.id, Allocation.status == "active"))
        victims = list((await session.execute(
            idle.limit(excess).with_for_update(of=Allocation, skip_locked=True))).scalars().all())
        if len(victims) < excess:
            raise SeatsBusy(f"pool {pool.id}: {excess} seats to take back, {len(victims)} free")
        reclaimed = await allocations.reclaim_allocations(session, victims, "subscription expired", "system", now)
    await session.execute(sa.update(Pool).where(Pool.id == pool.id).values(total=new_total, updated_at=now))
    await history.record(session, "pool", pool.id, "entitlement_expired", "system",
                         {"entitlement_id": str(entitlement.id), "quantity": entitlement.quantity,
                          "seats_reclaimed": len(reclaimed)})
    await add_event(session, new_event("licenses.entitlement.expired", EntitlementExpired(
        entitlement_id=entitlement.id, pool_id=pool.id, org_id=pool.org_id, quantity=entitlement.quantity,
        seats_reclaimed=len(reclaimed)), source=SOURCE, about=pool.id))
    return len(reclaimed)


async def expire_due(db: Database, now: datetime | None = None) -> int:
    """Expires every entitlement whose `valid_to` has passed, each in its own transaction."""
    now = now or utcnow()
    async with db.session() as session:
        due = (await session.execute(sa.select(Entitlement.id).where(
            Entitlement.status == "active", Entitlement.valid_to.is_not(None), Entitlement.valid_to <= now)
            .order_by(Entitlement.valid_to))).scalars().all()
        await session.rollback()
    expired = 0
    for entitlement_id in due:
        if await _expire_when_seats_free(db, entitlement_id, now) is not None:
            expired += 1
    return expired


async def _expire_when_seats_free(db: Database, entitlement_id, now: datetime) -> int | None:
    """Expires the entitlement, again after a pause while others hold the seats it must take back;
    None when it was expired already, or its seats stayed busy (the next pass takes it up)."""
    for pause in (*BUSY_PAUSES, None):
        try:
            async with db.session() as session:
                return await _expire_and_commit(session, entitlement_id, now)
        except SeatsBusy as busy:
            if pause is None:
                log.warning("entitlement %s not expired in this pass: %s", entitlement_id, busy)
                return None
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


@retried
async def _expire_and_commit(session: AsyncSession, entitlement_id, now: datetime) -> int | None:
    reclaimed = await expire_entitlement(session, entitlement_id, now)
    await session.commit()
    return reclaimed


async def expire_subscriptions(app: FastAPI) -> None:
    """Runs for the app's lifetime: checks for ended subscriptions every few seconds."""
    await run_every(app.state.settings.expiry_interval_seconds, functools.partial(expire_due, app.state.db),
                    what="expiring subscriptions", log=log)
