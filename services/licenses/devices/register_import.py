"""Devices registered from a spreadsheet (登记造册): `POST /devices:import`, a row per device with
the columns of `POST /devices` (SPEC, "Data in and out").

All or nothing: every row is checked before anything is written, and a file with any bad row
answers every row's error. A good file is written in one transaction, set-based (one INSERT of the
new devices, one UPDATE statement per changed one), so that 50,000 rows take seconds. A device is
known by its asset tag in its org: importing the same file again changes nothing."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import cells, history, imports
from kernel.auth import Principal
from kernel.db import among, insert_rows
from kernel.errors import Conflict
from kernel.ids import new_ids, utcnow
from kernel.imports import Field, ImportOut, RowError, refuse
from kernel.orgs import OrgDirectory
from services.licenses.devices import schemas
from services.licenses.devices.models import KINDS, Device
from services.licenses.visibility import IT_ADMINS

# The kinds as a Chinese register names them.
KIND_WORDS = {"台式机": "desktop", "台式电脑": "desktop", "笔记本": "laptop", "笔记本电脑": "laptop",
              "服务器": "server"} | {kind: kind for kind in KINDS}
# The columns in the order the template shows them: DeviceCreate's fields, with Chinese headers.
FIELDS = (Field("asset_tag", "资产编号"), Field("hostname", "主机名"),
          Field("kind", "类型", cells.choice(KIND_WORDS, "台式机/笔记本/服务器 (desktop/laptop/server)")),
          Field("os_name", "操作系统"), Field("owner", "使用人"), Field("org_id", "单位"))
REQUIRED = (("asset_tag",), ("hostname",), ("kind",))
COMPARED = ("hostname", "kind", "os_name", "owner")
CHUNK = 5_000  # rows written per statement


async def import_devices(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID | None,
                         upload, *, dry_run: bool, english: bool) -> ImportOut:
    org = None
    if org_id is not None:
        org = await orgs.visible(session, principal, org_id)
        IT_ADMINS.require(principal, org.path)
    else:
        IT_ADMINS.require(principal, principal.org_path)  # the rows' orgs are checked one by one
    table = await imports.read(upload, FIELDS, REQUIRED)
    rows, errors = await imports.parsed_rows(session, principal, table, FIELDS, schemas.DeviceCreate, orgs=orgs,
                                             key=lambda d: (d.org_id, d.asset_tag), key_column="asset_tag",
                                             org=org, roles=IT_ADMINS)
    del table  # the rows are checked: the cells' text is no longer needed

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
    try:
        # In chunks, still in the one transaction: each chunk's rows are built just before they
        # are written and let go after, and the event loop serves other requests between chunks.
        for start in range(0, len(created), CHUNK):
            chunk = created[start:start + CHUNK]
            new = [dict(id=device_id, org_id=row.org.id, org_path=row.org.path, status="active",
                        last_seen_at=None, retired_at=None, created_at=now, updated_at=now,
                        **{name: getattr(row.data, name) for name in ("asset_tag", *COMPARED)})
                   for device_id, row in zip(new_ids(len(chunk)), chunk, strict=True)]
            await insert_rows(session, Device.__table__, new)
            await history.record_each(session, "device", [
                (entry["id"], "registered", principal, {"asset_tag": entry["asset_tag"], "imported": True})
                for entry in new])
        for start in range(0, len(updated), CHUNK):
            chunk = updated[start:start + CHUNK]
            # An executemany of one UPDATE by primary key; a device retired meanwhile is left as it is.
            await session.execute(
                sa.update(Device.__table__).where(Device.__table__.c.id == sa.bindparam("device_id"),
                                                  Device.__table__.c.status == "active"),
                [{"device_id": device_id, "updated_at": now, **{name: getattr(row.data, name) for name in COMPARED}}
                 for device_id, row in chunk])
            await history.record_each(session, "device", [
                (device_id, "updated", principal, {"asset_tag": row.data.asset_tag, "imported": True})
                for device_id, row in chunk])
    except IntegrityError as exc:
        # Another import (or POST /devices) registered one of these asset tags since they were read.
        raise Conflict("a device of the file was registered meanwhile; import the file again",
                       slug="duplicate-asset-tag") from exc
    await session.commit()
    return ImportOut(created=len(created), updated=len(updated), unchanged=unchanged, dry_run=False)
