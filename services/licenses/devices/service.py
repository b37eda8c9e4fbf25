"""Devices: registered and reporting what is installed. Retiring one gives its seats back, so it is
an allocations use-case (services/licenses/allocations/retirement.py)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from kernel.etags import check_if_match, etag
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory
from kernel.transitions import Change, Note
from services.licenses import visibility
from services.licenses.catalogue import service as catalogue
from services.licenses.devices import schemas
from services.licenses.devices.models import DEVICE, BundledTitle, Device, InstalledSoftware, InventoryReport
from services.licenses.devices.recognition import recognized_rows


async def register_device(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                          data: schemas.DeviceCreate) -> Device:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.IT_ADMINS.require(principal, org.path)
    bundled = sorted(set(data.bundled_title_ids))
    if unknown := set(bundled) - await catalogue.existing_titles(session, bundled):
        raise InvalidInput(f"no title {', '.join(map(str, sorted(unknown)))} in the catalogue", slug="unknown-title")
    device = Device(org_path=org.path, status="active", **data.model_dump(exclude={"bundled_title_ids"}))
    session.add(device)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"asset tag {data.asset_tag!r} is already registered in this org",
                       slug="duplicate-asset-tag") from exc
    if bundled:
        await session.execute(sa.insert(BundledTitle), [dict(device_id=device.id, title_id=t) for t in bundled])
    detail = {"asset_tag": data.asset_tag}
    if bundled:
        detail["bundled_title_ids"] = [str(title_id) for title_id in bundled]
    await history.record(session, "device", device.id, "registered", principal, detail)
    await session.commit()
    return device


async def visible_device(session: AsyncSession, principal: Principal, device_id: uuid.UUID) -> Device:
    device = await session.get(Device, device_id)
    if device is None or not visibility.sees(principal, device.org_path):
        raise NotFound(f"no device {device_id} in your subtree")
    return device


EDITABLE = tuple(schemas.DeviceUpdate.model_fields)


def device_etag(device: Device) -> str:
    """The version of what a PATCH sets; not `last_seen_at`, which every inventory report moves."""
    return etag(device.id, *(getattr(device, name) for name in EDITABLE))


async def update_device(session: AsyncSession, principal: Principal, device_id: uuid.UUID,
                        data: schemas.DeviceUpdate, *, if_match: str | None = None) -> Device:
    """Edits a device through DEVICE's `edit` (history, compare-and-set). No event: no other
    service keeps a copy of a device, and no seat moves (CONTRIBUTING.md, "When does a change
    publish an event?")."""
    device = await visible_device(session, principal, device_id)
    visibility.IT_ADMINS.require(principal, device.org_path)
    holds = check_if_match(if_match, device_etag(device))
    DEVICE.require("edit", device.status)
    changes = data.model_dump(exclude_unset=True)
    # Written over the version that was checked only: an edit that landed meanwhile wins, this one is 412.
    version = [getattr(Device, name).is_not_distinct_from(getattr(device, name)) for name in EDITABLE] if holds else []
    await DEVICE.apply(session, "edit", device.id, Note(principal, changes),
                       Change(changes, where=version,
                              refused=PreconditionFailed("someone changed this device since you read it: read it "
                                                         "again, then retry")))
    await session.commit()
    await session.refresh(device)
    return device


def devices_query(principal: Principal, org_id: uuid.UUID | None, status: str | None) -> sa.Select:
    query = sa.select(Device).where(visibility.scope(principal, Device.org_path))
    if principal.is_staff_only:
        query = query.where(Device.owner == principal.name)
    if org_id:
        query = query.where(Device.org_id == org_id)
    if status:
        query = query.where(Device.status == status)
    return query


async def report_inventory(session: AsyncSession, principal: Principal, device_id: uuid.UUID,
                           data: schemas.InventoryReport) -> schemas.InventoryOut:
    device = await visible_device(session, principal, device_id)
    visibility.IT_ADMINS.require(principal, device.org_path)
    DEVICE.require("report_inventory", device.status)
    now = utcnow()
    # Refused if the device was retired meanwhile; the report is not history (it is its own record).
    await DEVICE.apply(session, "report_inventory", device.id, None, Change({"last_seen_at": now, "updated_at": now}))
    # Reports are kept, not overwritten: the compliance position at a past date reads the
    # latest report before that date.
    session.add(InventoryReport(id=new_id(), device_id=device.id, reported_at=now, items=len(data.software)))
    rows = await recognized_rows(session, data.software)
    if rows:
        await session.execute(sa.insert(InstalledSoftware), [
            dict(id=new_id(), device_id=device.id, reported_at=now, **row) for row in rows])
    await session.commit()
    return schemas.InventoryOut(device_id=device.id, reported_at=now, software=[
        schemas.SoftwareOut(name=r["name"], vendor=r["vendor"], version=r["version"], category=r["category"],
                            title_id=r["title_id"]) for r in rows])


async def latest_inventory(session: AsyncSession, principal: Principal, device_id: uuid.UUID) -> schemas.InventoryOut:
    device = await visible_device(session, principal, device_id)
    if device.last_seen_at is None:
        raise NotFound(f"device {device_id} has not reported an inventory yet", slug="no-inventory")
    rows = (await session.execute(sa.select(InstalledSoftware).where(
        InstalledSoftware.device_id == device.id, InstalledSoftware.reported_at == device.last_seen_at))).scalars()
    return schemas.InventoryOut(device_id=device.id, reported_at=device.last_seen_at, software=[
        schemas.SoftwareOut(name=r.name, vendor=r.vendor, version=r.version, category=r.category, title_id=r.title_id)
        for r in rows])


async def unrecognized(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID, *,
                       cursor: str | None, limit: int) -> tuple[list[schemas.UnrecognizedOut], str | None]:
    """The raw names of the subtree's latest reports that no title recognizes (updates and language
    packs left out), with their vendor and on how many live devices, most devices first. Pages by
    position in that order (`next_cursor` is the offset of the next page)."""
    org = await orgs.visible(session, principal, org_id)
    offset = 0
    if cursor:
        if not cursor.isdigit() or len(cursor) > 9:
            raise InvalidInput("the cursor is not one this API gave out", slug="invalid-cursor")
        offset = int(cursor)
    devices = sa.func.count(sa.distinct(Device.id))
    rows = (await session.execute(
        sa.select(InstalledSoftware.name, InstalledSoftware.vendor, devices)
        .select_from(Device)
        .join(InstalledSoftware, sa.and_(InstalledSoftware.device_id == Device.id,
                                         InstalledSoftware.reported_at == Device.last_seen_at))
        .where(Device.org_path.startswith(org.path, autoescape=True), Device.status == "active",
               InstalledSoftware.title_id.is_(None), InstalledSoftware.not_a_product.is_(False))
        .group_by(InstalledSoftware.name, InstalledSoftware.vendor)
        .order_by(devices.desc(), InstalledSoftware.name, InstalledSoftware.vendor)
        .offset(offset).limit(limit + 1))).all()
    items = [schemas.UnrecognizedOut(name=name, vendor=vendor, devices=count) for name, vendor, count in rows[:limit]]
    return items, (str(offset + limit) if len(rows) > limit else None)
