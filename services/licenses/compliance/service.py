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
from kernel.db import among
from kernel.errors import InvalidInput
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from services.licenses.allocations import seat_limits
from services.licenses.allocations.models import AllocationEntry
from services.licenses.catalogue import service as catalogue
from services.licenses.devices.models import BundledTitle, Device, InstalledSoftware, InventoryReport
from services.licenses.install_requests.models import InstallRequest
from services.licenses.pools.models import Entitlement, Pool

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
    """The report in five statements, each driven by the subtree's live devices: the computers per
    kind; the seats they held (category, product, title); the titles recorded as pre-installed on
    them; what their reports had installed (title or raw name); and, for the computers the report
    lists, their tags. The entitlements of the subtree's titled pools are a sixth; a seventh names
    the devices over their limit, only when some device holds several seats of a category.

    Whether an installed entry is genuine depends on the seats, titles and pre-installed titles of
    its own device (SPEC, "Inspection as the notices run it"). In SQL that is a join per entry
    whose plan rests on row estimates, and those of freshly written, not yet analysed tables are
    off by 1,000× and more: a plan built on them rescanned the seats once per entry (seconds for
    500 devices). So the database only reads rows — each statement a scan of the subtree's devices
    with index look-ups on the (device_id, …) keys, every "no such row" a NOT EXISTS (a true
    anti-join), ids as text — and the entries are classified here in one pass over them, with the
    seats as sets of (device, title) and (device, category) pairs (docs/performance.md,
    "Compliance report")."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    kinds = dict((await session.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                        .group_by(Device.kind))).all())
    titles = {str(title_id): title for title_id, title in (await catalogue.current(session)).titles.items()}

    # The seats held at `as_of`: per category the devices holding one and the seats, whose
    # difference says whether any device holds several of a category; per product its holders.
    taken = aliased(AllocationEntry, name="taken")
    held = (await session.execute(
        sa.select(as_text(taken.device_id), taken.category, Pool.product_name, as_text(Pool.title_id))
        .select_from(Device).join(taken, taken.device_id == Device.id).join(Pool, Pool.id == taken.pool_id)
        .where(live, held_at(taken, as_of)))).all()
    seat_titles: set[tuple[str, str]] = set()
    seat_categories: set[tuple[str, str]] = set()
    seats_of: Counter = Counter()
    genuine_software: dict[str, dict[str, set]] = {category: defaultdict(set) for category in CATEGORIES}
    for device_id, category, product, title_id in held:
        seat_categories.add((device_id, category))
        seats_of[category] += 1
        if title_id is not None:
            seat_titles.add((device_id, _id(title_id)))
        if category in CATEGORIES:
            genuine_software[category][product].add(device_id)
    holders = Counter(category for _, category in seat_categories)
    several = {category for category in CATEGORIES if seats_of[category] > holders[category]}
    bundled = {(device_id, _id(title_id)) for device_id, title_id in (await session.execute(
        sa.select(as_text(BundledTitle.device_id), as_text(BundledTitle.title_id))
        .join(Device, Device.id == BundledTitle.device_id).where(live))).all()}

    # What each live device had installed at `as_of` (its latest inventory report before then),
    # updates and language packs left out, and entries no title recognizes and no reporter gave a
    # category (they wait in the unrecognized queue). A recognized entry is named by its title, so
    # its raw name is not read.
    installed = (await session.execute(
        sa.select(as_text(Device.id), as_text(InstalledSoftware.title_id), InstalledSoftware.category,
                  sa.case((InstalledSoftware.title_id.is_(None), InstalledSoftware.name)))
        .select_from(Device)
        .join(InstalledSoftware, sa.and_(InstalledSoftware.device_id == Device.id,
                                         InstalledSoftware.reported_at == latest_report_at(as_of)))
        .where(live, InstalledSoftware.not_a_product.is_(False),
               sa.or_(InstalledSoftware.title_id.is_not(None), InstalledSoftware.category.in_(CATEGORIES))))).all()
    on: dict[str, set] = defaultdict(set)  # title id → the devices it is installed on
    good: dict[str, set] = defaultdict(set)  # … where it is genuine
    fine: dict[str, set] = {category: set() for category in CATEGORIES}  # devices with a genuine title of it
    flawed: list[tuple[str, str, str]] = []  # (category, device, name) of the non-genuine entries
    for device_id, title_id, reported_category, raw_name in installed:
        if title_id is None:
            # What the report counted before titles: genuine when a seat of its category covers it.
            if (device_id, reported_category) not in seat_categories:
                flawed.append((reported_category, device_id, raw_name))
            continue
        title_id = _id(title_id)
        title = titles.get(title_id) or titles.setdefault(title_id, await title_added_since(session, title_id))
        on[title_id].add(device_id)
        if genuine_there(title, (device_id, title_id) in seat_titles, (device_id, title_id) in bundled):
            good[title_id].add(device_id)
            if title.category in CATEGORIES:
                fine[title.category].add(device_id)
                if (device_id, title_id) not in seat_titles:  # genuine without a seat: listed by its name
                    genuine_software[title.category][title.name].add(device_id)
        elif title.category in CATEGORIES:
            flawed.append((title.category, device_id, title.name))

    # The non-genuine entries are the report's own list of devices (tens of thousands for a large
    # group). Sorted (the same order on PostgreSQL and SQLite, whatever the database's collation)
    # by category, asset tag, device and name, a device's entries are consecutive and its software
    # comes sorted: one pass builds the answer's entries.
    listed = await devices_by_id(session, sorted({device_id for _, device_id, _ in flawed}))
    flawed.sort(key=lambda row: (row[0], listed[row[1]][1], row[1], row[2]))
    without: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    counts: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    last_category = last_device = software = None
    for category, device_id, name in flawed:
        if device_id != last_device or category != last_category:
            device_org, asset_tag, hostname = listed[device_id]
            software = [name]
            without[category].append({"device_id": device_id, "org_id": device_org, "asset_tag": asset_tag,
                                      "hostname": hostname, "software": software})
            last_category, last_device = category, device_id
        elif name != software[-1]:  # a title or name reported twice (two versions) is listed once
            software.append(name)
        else:
            continue
        counts[category][name] += 1

    over_limit = await devices_over_limit(session, live, as_of, several) if several else defaultdict(list)

    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    for category in CATEGORIES:
        not_genuine = {entry["device_id"] for entry in without[category]}
        seated = {device_id for device_id, c in seat_categories if c == category}
        result[category] = {
            "genuine": len((seated | fine[category]) - not_genuine),
            "non_genuine": len(without[category]),
            "genuine_software": [{"name": name, "count": len(devices)}
                                 for name, devices in sorted(genuine_software[category].items())],
            "non_genuine_software": [{"name": name, "count": count}
                                     for name, count in sorted(counts[category].items())],
            "devices_without_license": without[category],
            "devices_over_limit": over_limit[category],
        }
    result["titles"] = await title_positions(session, org.path, as_of, titles, on, good, held)
    result["unapproved_installs"] = await unapproved_installs(session, as_of, titles, on, good)
    return result


async def title_added_since(session: AsyncSession, title_id: str):
    """A title added after this process last read the catalogue (its revision moved meanwhile)."""
    return {str(t): title for t, title in (await catalogue.current(session)).titles.items()}[title_id]


def genuine_there(title, seat: bool, recorded: bool) -> bool:
    """SPEC Inspection: an installed title is genuine on a computer that holds a seat of a pool of
    that title, or when the title is free, or bundled and recorded as pre-installed there."""
    return seat or title.licensing == "free" or (title.licensing == "bundled" and recorded)


async def unapproved_installs(session: AsyncSession, as_of: datetime, titles: dict, on: dict[str, set],
                              good: dict[str, set]) -> list[dict]:
    """The commercial titles installed without a seat and without an install request approved by
    `as_of` (SPEC Oversight, 安装、卸载审核机制): what someone installed without asking. Free, bundled
    and personal editions are judged by the report's own rules above and not listed here."""
    pairs = {(device_id, title_id) for title_id, devices in on.items() if titles[title_id].licensing == "commercial"
             for device_id in devices - good.get(title_id, set())}
    if not pairs:
        return []
    for condition in among(session, InstallRequest.device_id, sorted({uuid.UUID(d) for d, _ in pairs})):
        pairs -= {(_id(device_id), _id(title_id)) for device_id, title_id in (await session.execute(
            sa.select(as_text(InstallRequest.device_id), as_text(InstallRequest.title_id))
            .where(condition, InstallRequest.kind == "install", InstallRequest.status == "approved",
                   InstallRequest.decided_at <= as_of))).all()}
    listed = await devices_by_id(session, sorted({device_id for device_id, _ in pairs}))
    return sorted(({"device_id": device_id, "org_id": listed[device_id][0], "asset_tag": listed[device_id][1],
                    "hostname": listed[device_id][2], "title_id": title_id, "name": titles[title_id].name,
                    "category": titles[title_id].category} for device_id, title_id in pairs),
                  key=itemgetter("asset_tag", "device_id", "name"))


async def non_genuine_on(session: AsyncSession, device_id: uuid.UUID, title_id: uuid.UUID) -> bool:
    """Whether the title is installed on the live device now (its latest inventory report) and not
    genuine there by `genuine_there`: what a finding about it waits for (SPEC Oversight)."""
    latest = (sa.select(Device.last_seen_at).where(Device.id == device_id, Device.retired_at.is_(None))
              .scalar_subquery())
    installed = (await session.execute(sa.select(sa.exists().where(
        InstalledSoftware.device_id == device_id, InstalledSoftware.title_id == title_id,
        InstalledSoftware.not_a_product.is_(False), InstalledSoftware.reported_at == latest)))).scalar()
    if not installed:
        return False
    taken = aliased(AllocationEntry, name="taken")
    seat = (await session.execute(sa.select(sa.exists().where(
        taken.device_id == device_id, taken.pool_id == Pool.id, Pool.title_id == title_id,
        held_at(taken, utcnow()))))).scalar()
    recorded = (await session.execute(sa.select(sa.exists().where(
        BundledTitle.device_id == device_id, BundledTitle.title_id == title_id)))).scalar()
    titles = {str(t): title for t, title in (await catalogue.current(session)).titles.items()}
    title = titles.get(str(title_id)) or await title_added_since(session, str(title_id))
    return not genuine_there(title, bool(seat), bool(recorded))


def _id(text: str) -> str:
    """An id read as text in its one spelling (SQLite keeps ids as 32 hex digits)."""
    return text if len(text) == 36 else str(uuid.UUID(text))


async def devices_by_id(session: AsyncSession, device_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """(org id, asset tag, host name) of the devices the report lists, by id."""
    found = {}
    for condition in among(session, Device.id, [uuid.UUID(d) for d in device_ids]):
        for device_id, org, asset_tag, hostname in (await session.execute(
                sa.select(as_text(Device.id), as_text(Device.org_id), Device.asset_tag, Device.hostname)
                .where(condition))).all():
            found[_id(device_id)] = (_id(org), asset_tag, hostname)
    return found


async def title_positions(session: AsyncSession, org_path: str, as_of: datetime, titles: dict, on: dict[str, set],
                          good: dict[str, set], held: list) -> list[dict]:
    """The license position of each title installed in the subtree or held in its pools at `as_of`:
    `entitled` the seats its entitlements granted then (those added by then and not yet ended,
    less any transferred away: the pools' total now), `allocated` the seats its computers held,
    `idle` those held on computers where the title is not installed (the first to reclaim)."""
    entitled = {_id(title_id): int(quantity) for title_id, quantity in (await session.execute(
        sa.select(as_text(Pool.title_id), sa.func.sum(Entitlement.quantity - Entitlement.transferred_out))
        .join(Entitlement, Entitlement.pool_id == Pool.id)
        .where(Pool.org_path.startswith(org_path, autoescape=True), Pool.title_id.is_not(None),
               Entitlement.created_at <= as_of,
               sa.or_(Entitlement.valid_to.is_(None), Entitlement.valid_to > as_of))
        .group_by(Pool.title_id))).all()}
    allocated: Counter = Counter()
    idle: Counter = Counter()
    for device_id, _, _, title_id in held:
        if title_id is not None:
            title_id = _id(title_id)
            allocated[title_id] += 1
            if device_id not in on.get(title_id, ()):
                idle[title_id] += 1
    positions = []
    for title_id in {*on, *entitled, *allocated}:
        title = titles.get(title_id) or await title_added_since(session, title_id)
        installed, genuine = len(on.get(title_id, ())), len(good.get(title_id, ()))
        positions.append({"title_id": title_id, "vendor": title.vendor, "name": title.name,
                          "category": title.category, "installed": installed, "genuine": genuine,
                          "non_genuine": installed - genuine, "entitled": entitled.get(title_id, 0),
                          "allocated": allocated[title_id], "idle": idle[title_id]})
    positions.sort(key=itemgetter("category", "vendor", "name", "title_id"))
    return positions


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
