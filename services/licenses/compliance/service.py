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
    org = await orgs.visible(session, principal, org_id)
    in_org = Device.org_path.startswith(org.path, autoescape=True)
    devices = {row.id: row for row in (await session.execute(
        sa.select(Device.id, Device.org_id, Device.kind, Device.asset_tag, Device.hostname)
        .where(in_org, Device.created_at <= as_of, sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))))}

    # Seats held at `as_of`: taken before it and not given back before it (the ledger never changes).
    taken = aliased(AllocationEntry, name="taken")
    back = aliased(AllocationEntry, name="back")
    given_back = sa.select(sa.literal(1)).where(back.allocation_id == taken.allocation_id, back.kind == "reclaimed",
                                                back.at <= as_of).exists()
    held_rows = (await session.execute(
        sa.select(taken.device_id, taken.category, Pool.product_name)
        .join(Pool, Pool.id == taken.pool_id).join(Device, Device.id == taken.device_id)
        .where(taken.kind == "allocated", taken.at <= as_of, taken.category.in_(CATEGORIES), in_org, ~given_back)
    )).all()

    # What each device had installed at `as_of`: its latest inventory report before then.
    latest = (sa.select(InventoryReport.device_id, sa.func.max(InventoryReport.reported_at).label("at"))
              .join(Device, Device.id == InventoryReport.device_id)
              .where(in_org, InventoryReport.reported_at <= as_of).group_by(InventoryReport.device_id).subquery())
    installed_rows = (await session.execute(
        sa.select(InstalledSoftware.device_id, InstalledSoftware.category, InstalledSoftware.name)
        .join(latest, sa.and_(latest.c.device_id == InstalledSoftware.device_id,
                              latest.c.at == InstalledSoftware.reported_at))
        .where(InstalledSoftware.category.in_(CATEGORIES)))).all()

    held: dict[str, dict[uuid.UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for device_id, category, product in held_rows:
        if device_id in devices:
            held[category][device_id].add(product)
    installed: dict[str, dict[uuid.UUID, set[str]]] = defaultdict(lambda: defaultdict(set))
    for device_id, category, name in installed_rows:
        if device_id in devices:
            installed[category][device_id].add(name)

    kinds = Counter(d.kind for d in devices.values())
    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": len(devices), "desktop": kinds["desktop"], "laptop": kinds["laptop"],
                            "server": kinds["server"]}}
    for category in CATEGORIES:
        licensed = held[category]
        unlicensed = {d: names for d, names in installed[category].items() if d not in licensed}
        result[category] = {
            "genuine": len(licensed),
            "non_genuine": len(unlicensed),
            "genuine_software": _counted(licensed),
            "non_genuine_software": _counted(unlicensed),
            "devices_without_license": [
                {"device_id": d, "org_id": devices[d].org_id, "asset_tag": devices[d].asset_tag,
                 "hostname": devices[d].hostname, "software": sorted(names)}
                for d, names in sorted(unlicensed.items(), key=lambda item: devices[item[0]].asset_tag)],
        }
    return result


def _counted(by_device: dict[uuid.UUID, set[str]]) -> list[dict]:
    counts = Counter(name for names in by_device.values() for name in names)
    return [{"name": name, "count": count} for name, count in sorted(counts.items())]


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
