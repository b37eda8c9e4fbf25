"""The compliance position of an org's subtree at any moment, from the allocation ledger and the
inventory reports, in the shape of the inspection survey form (软件正版化情况调查表)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kernel.auth import Principal
from kernel.bounds import moment_or_day
from kernel.errors import InvalidInput
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from services.licenses.allocations import seat_limits
from services.licenses.allocations.models import AllocationEntry
from services.licenses.devices.models import Device, InstalledSoftware, InventoryReport
from services.licenses.pools.models import Pool

# The form's four software rows, in its order and words.
CATEGORIES = {"os": "操作系统软件", "office": "办公软件", "antivirus": "杀毒软件", "business": "主要业务软件"}
CHINA = timezone(timedelta(hours=8))


def parse_as_of(value: str | None) -> datetime:
    """A time, or a date meaning the end of that day in China (Asia/Shanghai); default now."""
    if not value:
        return utcnow()
    try:
        return moment_or_day(value)
    except ValueError as exc:
        raise InvalidInput(f"as_of {value!r}: a date (2026-11-23) or a time with its zone (RFC 3339) is expected; "
                           f"{exc}", slug="invalid-as-of") from exc


async def position(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                   as_of: datetime) -> dict:
    """The report in five set-based statements: the computers per kind, the devices holding a seat
    per category and per product, the rows of the devices the report must name (installed
    software no seat of its category covers), and those of the computers holding more than one
    seat of a category (devices_over_limit). No statement runs a subquery per row: the seats given
    back are a LEFT JOIN on the ledger's unique (allocation_id, kind), and the software no seat
    covers a LEFT JOIN against the (device, category) pairs held, which PostgreSQL hashes and SQLite
    materialises and indexes once."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    kinds = dict((await session.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                        .group_by(Device.kind))).all())

    # Seats held at `as_of`: taken before it and not given back before it (the ledger never changes).
    taken = aliased(AllocationEntry, name="taken")
    back = aliased(AllocationEntry, name="back")
    not_given_back = sa.and_(back.allocation_id == taken.allocation_id, back.kind == "reclaimed", back.at <= as_of)
    held = (sa.select(taken.category, Pool.product_name, taken.device_id)
            .join(Pool, Pool.id == taken.pool_id).join(Device, Device.id == taken.device_id)
            .outerjoin(back, not_given_back)
            .where(taken.kind == "allocated", taken.at <= as_of, taken.category.in_(CATEGORIES), live,
                   back.id.is_(None))
            .subquery("held"))
    devices = sa.func.count(sa.distinct(held.c.device_id))
    genuine = dict((await session.execute(sa.select(held.c.category, devices).group_by(held.c.category))).all())
    genuine_software: dict[str, list[dict]] = defaultdict(list)
    for category, product, count in sorted((await session.execute(
            sa.select(held.c.category, held.c.product_name, devices)
            .group_by(held.c.category, held.c.product_name))).all()):
        genuine_software[category].append({"name": product, "count": count})

    # What each live device had installed at `as_of` (its latest inventory report before then) that
    # no seat of the same category held at `as_of` covers.
    latest = (sa.select(InventoryReport.device_id, sa.func.max(InventoryReport.reported_at).label("at"))
              .join(Device, Device.id == InventoryReport.device_id)
              .where(live, InventoryReport.reported_at <= as_of).group_by(InventoryReport.device_id).subquery())
    covered = sa.select(held.c.device_id, held.c.category).distinct().subquery("covered")
    unlicensed = await session.execute(
        sa.select(InstalledSoftware.category, Device.id, Device.org_id, Device.asset_tag, Device.hostname,
                  InstalledSoftware.name)
        .join(latest, sa.and_(latest.c.device_id == InstalledSoftware.device_id,
                              latest.c.at == InstalledSoftware.reported_at))
        .join(Device, Device.id == InstalledSoftware.device_id)
        .outerjoin(covered, sa.and_(covered.c.device_id == InstalledSoftware.device_id,
                                    covered.c.category == InstalledSoftware.category))
        .where(InstalledSoftware.category.in_(CATEGORIES), covered.c.device_id.is_(None))
        .order_by(InstalledSoftware.category, Device.id, InstalledSoftware.name))

    # These rows are the report's own list of devices, so their counts are taken from them here
    # rather than by a second pass of the same anti-join in the database. They come grouped by
    # device and with the names in order, so a device's rows are consecutive.
    named: dict[str, list[list]] = defaultdict(list)  # category → [[id, org, tag, host, [names]]]
    last = None
    for category, device_id, device_org, asset_tag, hostname, name in unlicensed:
        if last is not None and last[0] == device_id and last[5] == category:
            if last[4][-1] != name:
                last[4].append(name)
            continue
        last = [device_id, device_org, asset_tag, hostname, [name], category]
        named[category].append(last)

    over_limit = await devices_over_limit(session, held)

    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    for category in CATEGORIES:
        # Python's order, not the database's collation: the same on PostgreSQL and SQLite.
        without = sorted(named[category], key=lambda entry: (entry[2], str(entry[0])))
        counts = Counter(name for entry in without for name in entry[4])
        result[category] = {
            "genuine": genuine.get(category, 0),
            "non_genuine": len(without),
            "genuine_software": genuine_software[category],
            "non_genuine_software": [{"name": name, "count": count} for name, count in sorted(counts.items())],
            "devices_without_license": [
                {"device_id": device_id, "org_id": device_org, "asset_tag": asset_tag, "hostname": hostname,
                 "software": names if len(names) == 1 else sorted(names)}
                for device_id, device_org, asset_tag, hostname, names, _ in without],
            "devices_over_limit": over_limit[category],
        }
    return result


async def devices_over_limit(session: AsyncSession, held: sa.Subquery) -> dict[str, list[dict]]:
    """Per category, the computers holding more seats of it than one computer may (98号: one each
    of os, office and antivirus, unless a policy of the device's subtree allows more).

    The database counts the seats per device and category and returns only the rows of the devices
    holding two or more (no limit is below one); only those are compared with their limit here. A
    computer can be over its limit through seats taken before the rule, or a policy lowered since."""
    several = (sa.select(held.c.category, held.c.device_id).group_by(held.c.category, held.c.device_id)
               .having(sa.func.count() > 1).subquery("several"))
    rows = (await session.execute(
        sa.select(held.c.category, Device.id, Device.org_id, Device.org_path, Device.asset_tag, Device.hostname,
                  held.c.product_name)
        .join(several, sa.and_(several.c.category == held.c.category, several.c.device_id == held.c.device_id))
        .join(Device, Device.id == held.c.device_id))).all()
    holders: dict[tuple[str, uuid.UUID], dict] = {}
    for category, device_id, device_org, org_path, asset_tag, hostname, product in rows:
        entry = holders.setdefault((category, device_id), {
            "device_id": device_id, "org_id": device_org, "org_path": org_path, "asset_tag": asset_tag,
            "hostname": hostname, "seats": 0, "software": []})
        entry["seats"] += 1
        entry["software"].append(product)
    listed: dict[str, list[dict]] = defaultdict(list)
    for category in {category for category, _ in holders}:
        entries = [entry for (c, _), entry in holders.items() if c == category]
        limits = await seat_limits.seats_per_device(session, category, {e["org_path"] for e in entries})
        for entry in entries:
            limit = limits[entry.pop("org_path")]
            if limit is not None and entry["seats"] > limit:
                listed[category].append({**entry, "seats_per_device": limit, "software": sorted(entry["software"])})
    for entries in listed.values():
        entries.sort(key=lambda entry: (entry["asset_tag"], str(entry["device_id"])))
    return listed


def form_rows(report: dict) -> list[list]:
    """The survey form as rows: the heading, one row per software kind, then the computers."""
    local = report["as_of"].astimezone(CHINA)
    rows = [["软件正版化情况调查表"],
            ["单位名称", report["org_name"], "统计时点", local.strftime("%Y-%m-%d %H:%M")],
            ["软件项目", "正版软件名称", "正版数量", "非正版软件名称", "非正版数量", "备注"]]
    for category, label in CATEGORIES.items():
        part = report[category]
        names = "、".join(f"{s['name']}（{s['count']}）" for s in part["genuine_software"])
        bad = "、".join(f"{s['name']}（{s['count']}）" for s in part["non_genuine_software"])
        notes = []
        if bad:
            notes.append("未授权设备：" + "、".join(d["asset_tag"] for d in part["devices_without_license"]))
        if part["devices_over_limit"]:
            notes.append("超出每台限额设备：" + "、".join(f"{d['asset_tag']}（{d['seats']}套）"
                                                 for d in part["devices_over_limit"]))
        note = "；".join(notes)
        rows.append([label, names, part["genuine"], bad, part["non_genuine"], note])
    c = report["computers"]
    summary = f"总数：{c['total']}台，其中台式{c['desktop']}台，便携式{c['laptop']}台，服务器{c['server']}台"
    rows.append(["电脑台数", summary, c["total"], "", "", ""])
    return rows


def as_csv(report: dict) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(form_rows(report))
    # With a byte order mark Excel opens the Chinese headings correctly.
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "调查表"
    for row in form_rows(report):
        sheet.append(row)
    sheet.merge_cells("A1:F1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEF", (16, 36, 10, 36, 10, 40), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
