"""The compliance position of an org's subtree at any moment, from the allocation ledger and the
inventory reports, in the shape of the inspection survey form (软件正版化情况调查表)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kernel.auth import Principal
from kernel.bounds import moment_or_day
from kernel.errors import InvalidInput
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
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
    """The report, counted by the database: aggregates for the figures, and rows only for the
    devices the report must name (those without a license), not one Python object per device."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    kinds = dict((await session.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                        .group_by(Device.kind))).all())

    # Seats held at `as_of`: taken before it and not given back before it (the ledger never changes).
    taken = aliased(AllocationEntry, name="taken")
    back = aliased(AllocationEntry, name="back")
    given_back = sa.select(sa.literal(1)).where(back.allocation_id == taken.allocation_id, back.kind == "reclaimed",
                                                back.at <= as_of).exists()
    held = (sa.select(taken.device_id, taken.category, Pool.product_name)
            .join(Pool, Pool.id == taken.pool_id).join(Device, Device.id == taken.device_id)
            .where(taken.kind == "allocated", taken.at <= as_of, taken.category.in_(CATEGORIES), live, ~given_back)
            .subquery("held"))

    # What each device had installed at `as_of`: its latest inventory report before then, and of
    # that, what no seat of its category covers.
    latest = (sa.select(InventoryReport.device_id, sa.func.max(InventoryReport.reported_at).label("at"))
              .join(Device, Device.id == InventoryReport.device_id)
              .where(live, InventoryReport.reported_at <= as_of).group_by(InventoryReport.device_id).subquery())
    covered = sa.select(sa.literal(1)).where(held.c.device_id == InstalledSoftware.device_id,
                                             held.c.category == InstalledSoftware.category).exists()
    unlicensed = (sa.select(InstalledSoftware.device_id, InstalledSoftware.category, InstalledSoftware.name)
                  .join(latest, sa.and_(latest.c.device_id == InstalledSoftware.device_id,
                                        latest.c.at == InstalledSoftware.reported_at))
                  .where(InstalledSoftware.category.in_(CATEGORIES), ~covered).subquery("unlicensed"))

    counted: dict[str, dict[str, int]] = defaultdict(dict)  # category → {"genuine": n, "non_genuine": n}
    software: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (category, kind) → [{name, count}]
    for kind, rows in (("genuine", held), ("non_genuine", unlicensed)):
        name = rows.c.product_name if kind == "genuine" else rows.c.name
        for category, devices in await session.execute(
                sa.select(rows.c.category, sa.func.count(sa.distinct(rows.c.device_id))).group_by(rows.c.category)):
            counted[category][kind] = devices
        for category, label, devices in await session.execute(
                sa.select(rows.c.category, name, sa.func.count(sa.distinct(rows.c.device_id)))
                .group_by(rows.c.category, name).order_by(rows.c.category, name)):
            software[(category, kind)].append({"name": label, "count": devices})
    without: dict[str, list[dict]] = defaultdict(list)
    for row in await session.execute(
            sa.select(unlicensed.c.category, Device.id, Device.org_id, Device.asset_tag, Device.hostname,
                      unlicensed.c.name).join(Device, Device.id == unlicensed.c.device_id)
            .order_by(unlicensed.c.category, Device.asset_tag, Device.id, unlicensed.c.name)):
        listed = without[row.category]
        if listed and listed[-1]["device_id"] == row.id:
            if listed[-1]["software"][-1] != row.name:
                listed[-1]["software"].append(row.name)
        else:
            listed.append({"device_id": row.id, "org_id": row.org_id, "asset_tag": row.asset_tag,
                           "hostname": row.hostname, "software": [row.name]})

    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    for category in CATEGORIES:
        result[category] = {
            "genuine": counted[category].get("genuine", 0),
            "non_genuine": counted[category].get("non_genuine", 0),
            "genuine_software": software[(category, "genuine")],
            "non_genuine_software": software[(category, "non_genuine")],
            "devices_without_license": without[category],
        }
    return result


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
        note = "未授权设备：" + "、".join(d["asset_tag"] for d in part["devices_without_license"]) if bad else ""
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
