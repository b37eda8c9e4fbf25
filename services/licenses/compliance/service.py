"""The compliance position of an org's subtree at any moment, from the allocation ledger and the
inventory reports, in the shape of the inspection survey form (软件正版化情况调查表)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from operator import itemgetter

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
    """The report in three statements, each driven by the subtree's live devices: the computers per
    kind, the seats they held counted per category and per product (one pass over the seats), and
    the rows of the devices the report must name (installed software no seat of its category
    covers). A fourth names the devices over their limit, only when some device holds several seats
    of a category.

    Every join is one PostgreSQL can run as a hash join or as index look-ups, and every "no such
    row" is a NOT EXISTS (a true anti-join): the row estimates of freshly written, not yet analysed
    tables are off by 1,000× and more, and a plan built on them must still not rescan a subquery
    per row (docs/performance.md, "Compliance report")."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    kinds = dict((await session.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                        .group_by(Device.kind))).all())

    # The seats held at `as_of`, counted per category and per product in one statement: the devices
    # holding one (distinct) and the seats (all rows), whose difference says whether any device
    # holds several of a category.
    taken = aliased(AllocationEntry, name="taken")
    held = (sa.select(taken.category, Pool.product_name, taken.device_id)
            .select_from(Device).join(taken, taken.device_id == Device.id).join(Pool, Pool.id == taken.pool_id)
            .where(live, taken.category.in_(CATEGORIES), held_at(taken, as_of))
            .cte("held"))
    devices, seats = sa.func.count(sa.distinct(held.c.device_id)), sa.func.count()
    counted = (await session.execute(sa.union_all(
        sa.select(held.c.category, sa.cast(sa.null(), sa.String), devices, seats).group_by(held.c.category),
        sa.select(held.c.category, held.c.product_name, devices, seats)
        .group_by(held.c.category, held.c.product_name)))).all()
    genuine: dict[str, int] = {}
    several: set[str] = set()  # the categories of which some device holds more than one seat
    genuine_software: dict[str, list[dict]] = defaultdict(list)
    for category, product, holders, held_seats in sorted(counted, key=lambda row: (row[0], row[1] or "")):
        if product is None:
            genuine[category] = holders
            if held_seats > holders:
                several.add(category)
        else:
            genuine_software[category].append({"name": product, "count": holders})

    # What each live device had installed at `as_of` (its latest inventory report before then)
    # that no seat of the same category held at `as_of` covers.
    covering = aliased(AllocationEntry, name="covering")
    unlicensed = (await session.execute(
        sa.select(InstalledSoftware.category, as_text(Device.id), as_text(Device.org_id), Device.asset_tag,
                  Device.hostname, InstalledSoftware.name)
        .select_from(Device)
        .join(InstalledSoftware, sa.and_(InstalledSoftware.device_id == Device.id,
                                         InstalledSoftware.reported_at == latest_report_at(as_of)))
        .where(live, InstalledSoftware.category.in_(CATEGORIES),
               ~sa.exists().where(covering.device_id == Device.id, covering.category == InstalledSoftware.category,
                                  held_at(covering, as_of))))).all()

    # These rows are the report's own list of devices (tens of thousands for a large group), so
    # their counts are taken from them here rather than by a second pass of the same anti-join in
    # the database. Sorted in Python (the same order on PostgreSQL and SQLite, whatever the
    # database's collation) by category, asset tag, device and name, a device's rows are
    # consecutive and its software comes sorted: one pass builds the answer's entries.
    unlicensed.sort(key=itemgetter(0, 3, 1, 5))
    without: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    counts: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    last_category = last_device = software = None
    for category, device_id, device_org, asset_tag, hostname, name in unlicensed:
        if device_id != last_device or category != last_category:
            software = [name]
            without[category].append({"device_id": device_id, "org_id": device_org, "asset_tag": asset_tag,
                                      "hostname": hostname, "software": software})
            last_category, last_device = category, device_id
        elif name != software[-1]:  # a name reported twice (two versions) is listed once
            software.append(name)
        else:
            continue
        counts[category][name] += 1

    over_limit = await devices_over_limit(session, live, as_of, several) if several else defaultdict(list)

    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    for category in CATEGORIES:
        result[category] = {
            "genuine": genuine.get(category, 0),
            "non_genuine": len(without[category]),
            "genuine_software": genuine_software[category],
            "non_genuine_software": [{"name": name, "count": count}
                                     for name, count in sorted(counts[category].items())],
            "devices_without_license": without[category],
            "devices_over_limit": over_limit[category],
        }
    return result


def as_text(id_column: sa.ColumnElement) -> sa.ColumnElement:
    """An id column read as its text (`8c0e…-…`), as the answer carries it, on either database: for
    the tens of thousands of ids of a report, no UUID object each to be turned back into text."""
    return sa.type_coerce(id_column, sa.Uuid(as_uuid=False))


def held_at(taken: type[AllocationEntry], as_of: datetime) -> sa.ColumnElement[bool]:
    """Whether the seat of ledger line `taken` was held at `as_of`: taken before it and not given
    back before it (the ledger never changes). NOT EXISTS on the ledger's unique (allocation_id,
    kind), which PostgreSQL plans as an anti-join, where a LEFT JOIN … IS NULL on another column
    was estimated as one row and drove nested loops over everything else."""
    back = aliased(AllocationEntry, name="back")
    return sa.and_(taken.kind == "allocated", taken.at <= as_of,
                   ~sa.exists().where(back.allocation_id == taken.allocation_id, back.kind == "reclaimed",
                                      back.at <= as_of))


def latest_report_at(as_of: datetime) -> sa.ColumnElement:
    """When the device's latest inventory report before `as_of` was made. `last_seen_at` is the time
    of its latest report, written in that report's transaction, so for a report now (the usual
    case) no report is looked up; for a past moment, one look-up on the (device_id, reported_at) key
    for each device that reported since."""
    earlier = (sa.select(sa.func.max(InventoryReport.reported_at))
               .where(InventoryReport.device_id == Device.id, InventoryReport.reported_at <= as_of)
               .scalar_subquery())
    return sa.case((Device.last_seen_at <= as_of, Device.last_seen_at), else_=earlier)


async def devices_over_limit(session: AsyncSession, live: sa.ColumnElement[bool], as_of: datetime,
                             several: set[str]) -> dict[str, list[dict]]:
    """Per category, the computers holding more seats of it than one computer may (98号: one each
    of os, office and antivirus, unless a policy of the device's subtree allows more).

    Asked only for the categories of which some computer holds several seats (`several`, from
    the report's seat counts): the database counts the seats per device and category again and returns
    the rows of the devices holding two or more (no limit is below one); only those are compared
    with their limit here. A computer can be over its limit through seats taken before the rule,
    or a policy lowered since."""
    taken = aliased(AllocationEntry, name="taken")
    held = (sa.select(taken.category, Pool.product_name, taken.device_id)
            .select_from(Device).join(taken, taken.device_id == Device.id).join(Pool, Pool.id == taken.pool_id)
            .where(live, taken.category.in_(sorted(several)), held_at(taken, as_of))
            .subquery("held"))
    several_held = (sa.select(held.c.category, held.c.device_id).group_by(held.c.category, held.c.device_id)
                    .having(sa.func.count() > 1).subquery("several"))
    rows = (await session.execute(
        sa.select(held.c.category, as_text(Device.id), as_text(Device.org_id), Device.org_path, Device.asset_tag,
                  Device.hostname, held.c.product_name)
        .join(several_held, sa.and_(several_held.c.category == held.c.category,
                                    several_held.c.device_id == held.c.device_id))
        .join(Device, Device.id == held.c.device_id))).all()
    holders: dict[tuple[str, str], dict] = {}
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
        entries.sort(key=itemgetter("asset_tag", "device_id"))
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
