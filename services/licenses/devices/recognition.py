"""Recognizing inventory entries as catalogue titles: each report's entries when it is written, and
the latest reports of every device again after the catalogue changes (a new title or pattern).

The pass after a change works on distinct raw entries, not rows: the latest reports of 50,000
computers hold a million rows but a few thousand distinct (name, vendor, version), each recognized
once in Python; only the entries whose decision changed are written, one UPDATE per entry over its
rows of the latest reports (by the index on the name)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.background import run_every
from kernel.db import Database
from kernel.ids import utcnow
from services.licenses.catalogue import service as catalogue
from services.licenses.catalogue.models import CatalogueRevision
from services.licenses.catalogue.shipped import load_shipped
from services.licenses.devices.models import Device, InstalledSoftware

log = logging.getLogger("zhengban.licenses.recognition")

# A report recognized under the old catalogue may commit a moment after a pass under the new one
# read the rows: passes go on until one began this long after the change, longer than a report's
# transaction takes.
SETTLE = timedelta(seconds=5)


async def recognized_rows(session: AsyncSession, entries: Iterable) -> list[dict]:
    """The rows of one report's entries (name, vendor, version, category), each with its title."""
    built = await catalogue.current(session)
    rows = []
    for entry in entries:
        title_id, not_a_product = catalogue.decision(
            built.recognizer.recognize(entry.name, entry.vendor, entry.version))
        rows.append(dict(name=entry.name, vendor=entry.vendor, version=entry.version,
                         category=getattr(entry, "category", None), title_id=title_id, not_a_product=not_a_product))
    return rows


def latest_report() -> sa.ColumnElement[bool]:
    """The rows of each device's latest report (`last_seen_at` is its time)."""
    return InstalledSoftware.reported_at == (sa.select(Device.last_seen_at)
                                             .where(Device.id == InstalledSoftware.device_id).scalar_subquery())


async def recognize_latest(session: AsyncSession) -> int:
    """Recognizes the latest reports' entries with the catalogue as it is now; returns how many
    distinct entries changed their title."""
    built = await catalogue.current(session)
    entries = (await session.execute(
        sa.select(InstalledSoftware.name, InstalledSoftware.vendor, InstalledSoftware.version,
                  InstalledSoftware.title_id, InstalledSoftware.not_a_product)
        .join(Device, sa.and_(Device.id == InstalledSoftware.device_id,
                              InstalledSoftware.reported_at == Device.last_seen_at))
        .distinct())).all()
    changed = []
    for name, vendor, version, title_id, not_a_product in entries:
        now = catalogue.decision(built.recognizer.recognize(name, vendor, version))
        if now != (title_id, not_a_product):
            changed.append(dict(b_name=name, b_vendor=vendor, b_version=version, b_title_id=now[0],
                                b_not_a_product=now[1]))
    if changed:
        table = InstalledSoftware.__table__

        def same(column, value):  # NULL vendor or version matches NULL
            return sa.or_(column == sa.bindparam(value), sa.and_(column.is_(None), sa.bindparam(value).is_(None)))

        await session.execute(
            sa.update(table).where(table.c.name == sa.bindparam("b_name"), same(table.c.vendor, "b_vendor"),
                                   same(table.c.version, "b_version"), latest_report())
            .values(title_id=sa.bindparam("b_title_id"), not_a_product=sa.bindparam("b_not_a_product"))
            .execution_options(synchronize_session=False), changed)
    return len(changed)


async def recognize_after_changes(db: Database) -> bool:
    """One round of the job: when the catalogue changed since the latest reports were last
    recognized (or a pass has not yet begun SETTLE after the change), a pass. Two replicas may
    both pass; the second finds nothing to change."""
    async with db.session() as session:
        state = (await session.execute(sa.select(CatalogueRevision).where(CatalogueRevision.id == 1))).scalar_one()
        due = state.recognized < state.revision or (
            state.recognized_at is not None and state.recognized_at < state.changed_at + SETTLE)
        await session.rollback()
    if not due:
        return False
    began = utcnow()
    async with db.session() as session:
        revision = await catalogue.revision(session)
        changed = await recognize_latest(session)
        await session.execute(sa.update(CatalogueRevision).where(CatalogueRevision.id == 1)
                              .values(recognized=sa.case((CatalogueRevision.recognized < revision, revision),
                                                         else_=CatalogueRevision.recognized),
                                      recognized_at=began))
        await session.commit()
    log.info("recognized the latest inventories again under catalogue revision %s: %s entries changed",
             revision, changed)
    return True


async def load_shipped_catalogue(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(load_shipped)


async def keep_recognition_current(app: FastAPI) -> None:
    """Runs for the app's lifetime: brings in the shipped catalogue once, then recognizes the latest
    inventories again after each change of the catalogue, within `recognition_interval_seconds`."""
    db: Database = app.state.db
    try:
        await load_shipped_catalogue(db)
    except Exception:  # noqa: BLE001 - logged; the migration loaded a catalogue, the next start tries again
        log.exception("loading the shipped catalogue failed")
    await run_every(app.state.settings.recognition_interval_seconds, functools.partial(recognize_after_changes, db),
                    what="recognizing inventories again", log=log)
