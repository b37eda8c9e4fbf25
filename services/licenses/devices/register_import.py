"""Devices registered from a spreadsheet (登记造册): `POST /devices:import`, a row per device with
the columns of `POST /devices` (SPEC, "Data in and out").

All or nothing: every row is checked before anything is written, and a file with any bad row
answers every row's error. A good file is written in one transaction, set-based (one INSERT of the
new devices, one UPDATE statement per changed one), so that 50,000 rows take seconds. A device is
known by its asset tag in its org: importing the same file again changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.db import among, insert_rows
from kernel.errors import Conflict
from kernel.ids import new_id, utcnow
from kernel.imports import MAX_BYTES, MAX_ROWS, ImportOut, RowError, columns_of, normalized, refuse, rows_orgs
from kernel.orgs import OrgDirectory, OrgRef
from kernel.spreadsheets import read_table, read_upload
from services.licenses.devices import schemas
from services.licenses.devices.models import KINDS, Device
from services.licenses.pools.service import WRITERS, require_writer

# The columns in the order the template shows them: DeviceCreate's fields, with Chinese headers.
FIELDS = (("asset_tag", "资产编号"), ("hostname", "主机名"), ("kind", "类型"), ("os_name", "操作系统"),
          ("owner", "使用人"), ("org_id", "单位"))
COLUMNS = columns_of(FIELDS)
REQUIRED = (("asset_tag",), ("hostname",), ("kind",))
# The kinds as a Chinese register names them.
KIND_WORDS = {"台式机": "desktop", "台式电脑": "desktop", "笔记本": "laptop", "笔记本电脑": "laptop",
              "服务器": "server"} | {kind: kind for kind in KINDS}
COMPARED = ("hostname", "kind", "os_name", "owner")


@dataclass
class Row:
    number: int
    org: OrgRef
    data: schemas.DeviceCreate


def _field_errors(number: int, exc: ValidationError, cells: dict[str, str | None]) -> list[RowError]:
    errors = []
    for error in exc.errors():
        column = str(error["loc"][0]) if error["loc"] else None
        value = cells.get(column) if column else None
        kind = error["type"]
        if kind == "missing" or (kind == "string_too_short" and not value):
            errors.append(RowError(number, column, "required"))
        elif kind == "string_too_long":
            errors.append(RowError(number, column, "too-long", {"limit": error["ctx"]["max_length"]}))
        elif kind == "literal_error":
            errors.append(RowError(number, column, "invalid-choice",
                                   {"value": value, "choices": "台式机/笔记本/服务器 (desktop/laptop/server)"}))
        else:
            errors.append(RowError(number, column, "invalid-text"))
    return errors


async def checked_rows(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org: OrgRef | None,
                       table) -> tuple[list[Row], list[RowError]]:
    """Every row parsed and checked, and every error found (none: the rows may be written)."""
    errors: list[RowError] = []
    named = await rows_orgs(session, orgs, principal, {
        text for _, cells in table.rows if (text := normalized(cells.get("org_id")))})
    rows: list[Row] = []
    first_of: dict[tuple[uuid.UUID, str], int] = {}
    for number, raw in table.rows:
        cells = {name: normalized(value) for name, value in raw.items()}
        row_org = org
        if cells.get("org_id"):
            row_org = named.get(cells["org_id"])
            if row_org is None:
                errors.append(RowError(number, "org_id", "unknown-org", {"value": cells["org_id"]}))
                continue
            if not principal.may(row_org.path, *WRITERS):
                errors.append(RowError(number, "org_id", "not-allowed", {"value": row_org.name}))
                continue
        elif row_org is None:
            errors.append(RowError(number, "org_id", "no-org"))
            continue
        kind = cells.get("kind")
        if kind:
            cells["kind"] = KIND_WORDS.get(kind.lower(), kind)
        try:
            given = {name: value for name, value in cells.items() if name != "org_id" and value is not None}
            data = schemas.DeviceCreate.model_validate({**given, "org_id": row_org.id})
        except ValidationError as exc:
            errors.extend(_field_errors(number, exc, cells))
            continue
        key = (row_org.id, data.asset_tag)
        if key in first_of:
            errors.append(RowError(number, "asset_tag", "duplicate", {"first": first_of[key]}))
            continue
        first_of[key] = number
        rows.append(Row(number, row_org, data))
    return rows, errors


async def import_devices(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID | None,
                         upload, *, dry_run: bool, english: bool) -> ImportOut:
    org = None
    if org_id is not None:
        org = await orgs.visible(session, principal, org_id)
        require_writer(principal, org.path)
    else:
        require_writer(principal, principal.org_path)  # the rows' orgs are checked one by one
    data = await read_upload(upload, max_bytes=MAX_BYTES)
    # Parsing 50,000 rows takes a moment of CPU: off the event loop, so other requests go on.
    table = await asyncio.to_thread(read_table, data, COLUMNS, required=REQUIRED, max_rows=MAX_ROWS)
    del data
    rows, errors = await checked_rows(session, orgs, principal, org, table)

    existing: dict[tuple[uuid.UUID, str], sa.Row] = {}
    org_ids = sorted({row.org.id for row in rows})
    for condition in among(session, Device.asset_tag, sorted({row.data.asset_tag for row in rows})):
        for device in (await session.execute(
                sa.select(Device.id, Device.org_id, Device.asset_tag, Device.status,
                          *(getattr(Device, name) for name in COMPARED))
                .where(condition, Device.org_id.in_(org_ids)))).all():
            existing[(device.org_id, device.asset_tag)] = device
    created, updated, unchanged = [], [], 0
    for row in rows:
        device = existing.get((row.org.id, row.data.asset_tag))
        if device is None:
            created.append(row)
        elif all(getattr(device, name) == getattr(row.data, name) for name in COMPARED):
            unchanged += 1
        elif device.status != "active":
            errors.append(RowError(row.number, "asset_tag", "retired"))
        else:
            updated.append((device.id, row))
    refuse(errors, english)
    if dry_run:
        await session.rollback()
        return ImportOut(created=len(created), updated=len(updated), unchanged=unchanged, dry_run=True)

    now = utcnow()
    new = [dict(id=new_id(), org_id=row.org.id, org_path=row.org.path, status="active", last_seen_at=None,
                retired_at=None, created_at=now, updated_at=now,
                **{name: getattr(row.data, name) for name in ("asset_tag", *COMPARED)}) for row in created]
    try:
        if new:
            await insert_rows(session, Device.__table__, new)
        if updated:
            # An executemany of one UPDATE by primary key; a device retired meanwhile is left as it is.
            await session.execute(
                sa.update(Device.__table__).where(Device.__table__.c.id == sa.bindparam("device_id"),
                                                  Device.__table__.c.status == "active"),
                [{"device_id": device_id, "updated_at": now, **{name: getattr(row.data, name) for name in COMPARED}}
                 for device_id, row in updated])
    except IntegrityError as exc:
        # Another import (or POST /devices) registered one of these asset tags since they were read.
        raise Conflict("a device of the file was registered meanwhile; import the file again",
                       slug="duplicate-asset-tag") from exc
    await history.record_each(session, "device", [
        *((entry["id"], "registered", principal, {"asset_tag": entry["asset_tag"], "imported": True})
          for entry in new),
        *((device_id, "updated", principal, {"asset_tag": row.data.asset_tag, "imported": True})
          for device_id, row in updated)])
    await session.commit()
    return ImportOut(created=len(created), updated=len(updated), unchanged=unchanged, dry_run=False)
