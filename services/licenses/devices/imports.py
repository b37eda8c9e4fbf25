"""A detection tool's export (软件检测工具: CSV or XLSX, a row per program found) as inventory
reports: each device the rows name gets a new report holding exactly its rows, recognized as
titles like any report.

Set-based, so that 50,000 rows take seconds: the file is read and checked whole first (a bad file
writes nothing), the devices are looked up in one statement per column that names them, each
distinct raw entry is recognized once, and the devices, reports and entries are written with one
statement each (kernel.db.insert_rows: one INSERT … SELECT FROM unnest on PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.bounds import check_text
from kernel.db import among, insert_rows
from kernel.ids import new_ids, utcnow
from kernel.orgs import OrgDirectory
from kernel.spreadsheets import Column, Table, read_table, read_upload
from services.licenses.catalogue import service as catalogue
from services.licenses.devices import schemas
from services.licenses.devices.models import Device, InstalledSoftware, InventoryReport
from services.licenses.visibility import IT_ADMINS

MAX_BYTES = 32_000_000
MAX_ROWS = 100_000
CHUNK = 5_000  # inventory entries written per statement
COLUMNS = (
    Column("asset_tag", ("asset_tag", "资产编号")),
    Column("hostname", ("hostname", "主机名")),
    Column("name", ("name", "软件名称")),
    Column("vendor", ("vendor", "厂商")),
    Column("version", ("version", "版本")),
    Column("installed_on", ("installed_on", "安装日期")),
)
REQUIRED = (("asset_tag", "hostname"), ("name",), ("vendor",), ("version",))
# The limits of the inventory entry's columns (devices/models.py InstalledSoftware).
LENGTHS = {"name": 200, "vendor": 200, "version": 100}


def entry_error(cells: dict[str, str | None]) -> str | None:
    """What is wrong with one row's software, or None."""
    if not cells.get("name"):
        return "name: the software's name is empty"
    for column, limit in LENGTHS.items():
        value = cells.get(column)
        if value is None:
            continue
        if len(value) > limit:
            return f"{column}: longer than {limit} characters"
        try:
            check_text(value)
        except ValueError as exc:
            return f"{column}: {exc}"
    if cells.get("installed_on"):
        try:
            date.fromisoformat(cells["installed_on"][:10])
        except ValueError:
            return "installed_on: a date (2026-03-01) is expected"
    return None


async def devices_named(session: AsyncSession, org_path: str, column: sa.ColumnElement, values: list[str]
                        ) -> dict[str, list[tuple[uuid.UUID, str]]]:
    """The subtree's devices by the asset tags or host names given: value → [(id, status)]."""
    found: dict[str, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    for condition in among(session, column, values):
        for value, device_id, status in (await session.execute(
                sa.select(column, Device.id, Device.status)
                .where(Device.org_path.startswith(org_path, autoescape=True), condition))).all():
            found[value].append((device_id, status))
    return found


def checked_rows(table: Table, by_tag: dict[str, list[tuple[uuid.UUID, str]]],
                 by_host: dict[str, list[tuple[uuid.UUID, str]]]
                 ) -> tuple[list[schemas.ImportRow], dict[uuid.UUID, list[dict]]]:
    """Each row's result, and the good rows by the device they name."""
    results: list[schemas.ImportRow] = []
    rows_of: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for number, cells in table.rows:
        tag, host = cells.get("asset_tag"), cells.get("hostname")
        matches = by_tag.get(tag, []) if tag else by_host.get(host, []) if host else None
        named = f"asset tag {tag!r}" if tag else f"host name {host!r}"
        if matches is None:
            error = "asset_tag/hostname: the row names no device"
        elif not matches:
            error = f"no device with {named} in the org's subtree"
        elif len(matches) > 1:
            error = f"{len(matches)} devices have {named} in the org's subtree: name it by its asset tag"
        elif matches[0][1] != "active":
            error = f"the device with {named} is retired"
        else:
            error = entry_error(cells)
        if error:
            results.append(schemas.ImportRow(row=number, status="error", error=error))
            continue
        device_id = matches[0][0]
        rows_of[device_id].append(cells)
        results.append(schemas.ImportRow(row=number, status="ok", device_id=device_id))
    return results, rows_of


async def import_inventory(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                           upload) -> schemas.ImportOut:
    org = await orgs.visible(session, principal, org_id)
    IT_ADMINS.require(principal, org.path)
    data = await read_upload(upload, max_bytes=MAX_BYTES)
    # Parsing 50,000 rows takes a moment of CPU: off the event loop, so other requests go on.
    table = await asyncio.to_thread(read_table, data, COLUMNS, required=REQUIRED, max_rows=MAX_ROWS)
    del data

    by_tag = await devices_named(session, org.path, Device.asset_tag, sorted(
        {cells["asset_tag"] for _, cells in table.rows if cells.get("asset_tag")}))
    by_host = await devices_named(session, org.path, Device.hostname, sorted(
        {cells["hostname"] for _, cells in table.rows if not cells.get("asset_tag") and cells.get("hostname")}))
    # Checking 50,000 rows is a moment of CPU: in a worker thread, so other requests go on.
    results, rows_of = await asyncio.to_thread(checked_rows, table, by_tag, by_host)
    del table
    if rows_of:
        now = utcnow()
        # Each device's report is refused once the device is retired; the conditional update says
        # which are still active, in the same transaction as their reports.
        updated: set[uuid.UUID] = set()
        device_ids = sorted(rows_of)
        for condition in among(session, Device.id, device_ids):
            updated |= set((await session.execute(
                sa.update(Device).where(condition, Device.status == "active")
                .values(last_seen_at=now, updated_at=now).returning(Device.id)
                .execution_options(synchronize_session=False))).scalars())
        built = await catalogue.current(session)
        decided: dict[tuple, tuple[uuid.UUID | None, bool]] = {}
        reported = [device_id for device_id in device_ids if device_id in updated]
        reports = [dict(id=report_id, device_id=device_id, reported_at=now, items=len(rows_of[device_id]))
                   for report_id, device_id in zip(new_ids(len(reported)), reported, strict=True)]
        if reports:
            await insert_rows(session, InventoryReport.__table__, reports)
        # The entries in chunks of CHUNK, each built just before it is written (one INSERT … FROM
        # unnest each), so the event loop serves other requests between chunks.
        entries = ((device_id, cells) for device_id in reported for cells in rows_of[device_id])
        while chunk := list(itertools.islice(entries, CHUNK)):
            software = []
            for entry_id, (device_id, cells) in zip(new_ids(len(chunk)), chunk, strict=True):
                key = (cells["name"], cells.get("vendor"), cells.get("version"))
                if key not in decided:
                    decided[key] = catalogue.decision(built.recognizer.recognize(*key))
                title_id, not_a_product = decided[key]
                software.append(dict(id=entry_id, device_id=device_id, reported_at=now, name=key[0],
                                     vendor=key[1], version=key[2], category=None, title_id=title_id,
                                     not_a_product=not_a_product))
            await insert_rows(session, InstalledSoftware.__table__, software)
        if len(updated) < len(device_ids):
            results = [schemas.ImportRow(row=r.row, status="error", error="the device was retired meanwhile")
                       if r.device_id is not None and r.device_id not in updated else r for r in results]
    await session.commit()
    ok = sum(1 for r in results if r.status == "ok")
    return schemas.ImportOut(rows=results, totals=schemas.ImportTotals(ok=ok, error=len(results) - ok))
