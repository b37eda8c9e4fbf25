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
from services.licenses.catalogue.models import CatalogueTitle
from services.licenses.devices.models import BundledTitle, Device, InstalledSoftware, InventoryReport
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
    kind; the seats they held counted per category and per product (one pass over the seats); the
    installed software of their reports, each entry genuine or not by its title (SPEC, "Inspection
    as the notices run it"), counted per title and per category in one pass; the rows of the
    non-genuine entries, which name the devices the report must list; and the license position of
    each title's pools. A sixth names the devices over their limit, only when some device holds
    several seats of a category.

    Every join is one PostgreSQL can run as a hash join or as index look-ups, and every "no such
    row" is a NOT EXISTS or an outer join to a distinct set (a true anti-join): the row estimates of
    freshly written, not yet analysed tables are off by 1,000× and more, and a plan built on them
    must still not rescan a subquery per row (docs/performance.md, "Compliance report")."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    kinds = dict((await session.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                        .group_by(Device.kind))).all())

    # The seats held at `as_of`, counted per category and per product in one statement: the devices
    # holding one (distinct) and the seats (all rows), whose difference says whether any device
    # holds several of a category.
    held = seats_held(live, as_of)
    devices, seats = sa.func.count(sa.distinct(held.c.device_id)), sa.func.count()
    counted = (await session.execute(sa.union_all(
        sa.select(held.c.category, sa.cast(sa.null(), sa.String), devices, seats)
        .where(held.c.category.in_(CATEGORIES)).group_by(held.c.category),
        sa.select(held.c.category, held.c.product_name, devices, seats)
        .where(held.c.category.in_(CATEGORIES)).group_by(held.c.category, held.c.product_name)))).all()
    several: set[str] = set()  # the categories of which some device holds more than one seat
    genuine_software: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    for category, product, holders, held_seats in counted:
        if product is None:
            if held_seats > holders:
                several.add(category)
        else:
            genuine_software[category][product] += holders

    installed = installed_at(live, as_of, held)
    titles, genuine = await counted_by_title(session, installed, held)
    for category, name, count in genuine.pop("named", []):
        genuine_software[category][name] += count

    # The non-genuine entries are the report's own list of devices (tens of thousands for a large
    # group), so their counts are taken from them here rather than by a second pass in the
    # database. Sorted in Python (the same order on PostgreSQL and SQLite, whatever the database's
    # collation) by category, asset tag, device and name, a device's rows are consecutive and its
    # software comes sorted: one pass builds the answer's entries.
    unlicensed = (await session.execute(
        sa.select(installed.c.category, as_text(installed.c.device_id), as_text(installed.c.org_id),
                  installed.c.asset_tag, installed.c.hostname, installed.c.raw_name, installed.c.name)
        .where(installed.c.genuine == 0, installed.c.category.in_(CATEGORIES)))).all()
    unlicensed.sort(key=itemgetter(0, 3, 1, 5))
    without: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    counts: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    last_category = last_device = software = named = None
    for category, device_id, device_org, asset_tag, hostname, raw_name, name in unlicensed:
        if device_id != last_device or category != last_category:
            software, named = [raw_name], {name}
            without[category].append({"device_id": device_id, "org_id": device_org, "asset_tag": asset_tag,
                                      "hostname": hostname, "software": software})
            last_category, last_device = category, device_id
            counts[category][name] += 1
            continue
        if raw_name != software[-1]:  # a name reported twice (two versions) is listed once
            software.append(raw_name)
        if name not in named:  # a title counts once per device, however many of its names it reports
            named.add(name)
            counts[category][name] += 1

    over_limit = await devices_over_limit(session, live, as_of, several) if several else defaultdict(list)

    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    for category in CATEGORIES:
        result[category] = {
            "genuine": genuine.get(category, 0),
            "non_genuine": len(without[category]),
            "genuine_software": [{"name": name, "count": count}
                                 for name, count in sorted(genuine_software[category].items())],
            "non_genuine_software": [{"name": name, "count": count}
                                     for name, count in sorted(counts[category].items())],
            "devices_without_license": without[category],
            "devices_over_limit": over_limit[category],
        }
    result["titles"] = await title_positions(session, org.path, as_of, installed, titles)
    return result


def seats_held(live: sa.ColumnElement[bool], as_of: datetime) -> sa.CTE:
    """The seats the live devices held at `as_of`: (category, product_name, title_id, device_id)."""
    taken = aliased(AllocationEntry, name="taken")
    return (sa.select(taken.category, Pool.product_name, Pool.title_id, taken.device_id)
            .select_from(Device).join(taken, taken.device_id == Device.id).join(Pool, Pool.id == taken.pool_id)
            .where(live, held_at(taken, as_of))
            .cte("held"))


def installed_at(live: sa.ColumnElement[bool], as_of: datetime, held: sa.CTE) -> sa.CTE:
    """What each live device had installed at `as_of` (its latest inventory report before then),
    updates and language packs left out, each entry with its category and whether it is genuine:

    - an entry recognized as a title: when the device held a seat of a pool of that title, or the
      title is `free`, or `bundled` and recorded on the device (`personal_free` and any other
      title without a seat are not);
    - an entry no title recognizes, in the category its reporter gave: when the device held a seat
      of that category (what the report counted before titles); one without a category is not in
      the report (it waits in the unrecognized queue).

    The seats are joined as the distinct (device, title) and (device, category) pairs of `held`:
    outer joins PostgreSQL hashes once, where an EXISTS per entry would be a look-up per row."""
    seat_titles = (sa.select(held.c.device_id, held.c.title_id).where(held.c.title_id.is_not(None))
                   .distinct().subquery("seat_titles"))
    seat_categories = sa.select(held.c.device_id, held.c.category).distinct().subquery("seat_categories")
    title = aliased(CatalogueTitle, name="title")
    category = sa.func.coalesce(title.category, InstalledSoftware.category)
    by_seat = sa.case((seat_titles.c.device_id.is_not(None), 1), else_=0)
    genuine = sa.case(
        (InstalledSoftware.title_id.is_(None), sa.case((seat_categories.c.device_id.is_not(None), 1), else_=0)),
        (seat_titles.c.device_id.is_not(None), 1),
        (title.licensing == "free", 1),
        (sa.and_(title.licensing == "bundled", BundledTitle.device_id.is_not(None)), 1),
        else_=0)
    return (sa.select(Device.id.label("device_id"), Device.org_id, Device.asset_tag, Device.hostname,
                      InstalledSoftware.title_id, category.label("category"),
                      InstalledSoftware.name.label("raw_name"),
                      sa.func.coalesce(title.name, InstalledSoftware.name).label("name"),
                      genuine.label("genuine"), by_seat.label("by_seat"))
            .select_from(Device)
            .join(InstalledSoftware, sa.and_(InstalledSoftware.device_id == Device.id,
                                             InstalledSoftware.reported_at == latest_report_at(as_of)))
            .outerjoin(title, title.id == InstalledSoftware.title_id)
            .outerjoin(seat_titles, sa.and_(seat_titles.c.device_id == Device.id,
                                            seat_titles.c.title_id == InstalledSoftware.title_id))
            .outerjoin(seat_categories, sa.and_(seat_categories.c.device_id == Device.id,
                                                seat_categories.c.category == InstalledSoftware.category,
                                                InstalledSoftware.title_id.is_(None)))
            .outerjoin(BundledTitle, sa.and_(BundledTitle.device_id == Device.id,
                                             BundledTitle.title_id == InstalledSoftware.title_id))
            .where(live, InstalledSoftware.not_a_product.is_(False), category.is_not(None))
            .cte("installed"))


async def counted_by_title(session: AsyncSession, installed: sa.CTE, held: sa.CTE
                           ) -> tuple[dict[str, tuple[int, int, int]], dict]:
    """In one statement over the installed entries: per title the devices it is installed on, genuine
    and not; per category the computers genuine for it (a seat of the category or a genuine title
    of it, and no non-genuine entry of it); per category and name the computers on which a title
    is genuine without a seat (free, or bundled and recorded), which the form lists beside the
    seats' products. Returns ({title id: (installed, genuine, non_genuine)}, {category: computers,
    "named": [(category, name, computers)]})."""
    on = sa.func.count(sa.distinct(installed.c.device_id))

    def where(flag: int):
        return sa.func.count(sa.distinct(sa.case((installed.c.genuine == flag, installed.c.device_id))))

    candidates = sa.union_all(
        sa.select(held.c.category, held.c.device_id),
        sa.select(installed.c.category, installed.c.device_id).where(installed.c.genuine == 1)).subquery("candidates")
    flawed = aliased(installed, name="flawed")
    none = sa.cast(sa.null(), sa.String)
    rows = (await session.execute(sa.union_all(
        sa.select(sa.literal("title"), sa.cast(installed.c.title_id, sa.String), none, on, where(1), where(0))
        .where(installed.c.title_id.is_not(None)).group_by(installed.c.title_id),
        sa.select(sa.literal("category"), candidates.c.category, none,
                  sa.func.count(sa.distinct(candidates.c.device_id)), sa.literal(0), sa.literal(0))
        .where(candidates.c.category.in_(CATEGORIES),
               ~sa.exists().where(flawed.c.device_id == candidates.c.device_id,
                                  flawed.c.category == candidates.c.category, flawed.c.genuine == 0))
        .group_by(candidates.c.category),
        sa.select(sa.literal("named"), installed.c.category, installed.c.name, on, sa.literal(0), sa.literal(0))
        .where(installed.c.genuine == 1, installed.c.by_seat == 0, installed.c.title_id.is_not(None),
               installed.c.category.in_(CATEGORIES))
        .group_by(installed.c.category, installed.c.name)))).all()
    titles: dict[str, tuple[int, int, int]] = {}
    genuine: dict = {"named": []}
    for kind, key, name, count, good, bad in rows:
        if kind == "title":
            titles[str(uuid.UUID(key))] = (count, good, bad)
        elif kind == "category":
            genuine[key] = count
        else:
            genuine["named"].append((key, name, count))
    return titles, genuine


async def title_positions(session: AsyncSession, org_path: str, as_of: datetime, installed: sa.CTE,
                          titles: dict[str, tuple[int, int, int]]) -> list[dict]:
    """The license position of each title installed in the subtree or held in its pools at `as_of`:
    `entitled` the seats its entitlements granted then (those added by then and not yet ended,
    less any transferred away), `allocated` the seats held, `idle` those held on devices where the
    title is not installed (the first to reclaim)."""
    in_subtree = Pool.org_path.startswith(org_path, autoescape=True)
    entitled = {str(uuid.UUID(title_id)): quantity for title_id, quantity in (await session.execute(
        sa.select(as_text(Pool.title_id), sa.func.sum(Entitlement.quantity - Entitlement.transferred_out))
        .join(Entitlement, Entitlement.pool_id == Pool.id)
        .where(in_subtree, Pool.title_id.is_not(None), Entitlement.created_at <= as_of,
               sa.or_(Entitlement.valid_to.is_(None), Entitlement.valid_to > as_of))
        .group_by(Pool.title_id))).all()}
    taken = aliased(AllocationEntry, name="taken")
    installed_pairs = sa.select(installed.c.device_id, installed.c.title_id).distinct().subquery("installed_pairs")
    idle = sa.case((sa.and_(taken.device_id.is_not(None), installed_pairs.c.device_id.is_(None)), 1), else_=0)
    held_rows = (await session.execute(
        sa.select(as_text(Pool.title_id), sa.func.count(), sa.func.sum(idle))
        .select_from(Pool).join(taken, taken.pool_id == Pool.id)
        .outerjoin(installed_pairs, sa.and_(installed_pairs.c.device_id == taken.device_id,
                                            installed_pairs.c.title_id == Pool.title_id))
        .where(in_subtree, Pool.title_id.is_not(None), held_at(taken, as_of))
        .group_by(Pool.title_id))).all()
    seats = {str(uuid.UUID(title_id)): (allocated, int(idle or 0)) for title_id, allocated, idle in held_rows}
    ids = sorted({*titles, *entitled, *seats})
    known = {}
    for condition in among(session, CatalogueTitle.id, [uuid.UUID(i) for i in ids]):
        for row in (await session.execute(
                sa.select(as_text(CatalogueTitle.id), CatalogueTitle.vendor, CatalogueTitle.name,
                          CatalogueTitle.category).where(condition))).all():
            known[str(uuid.UUID(row[0]))] = row
    positions = []
    for title_id in ids:
        _, vendor, name, category = known[title_id]
        count, good, bad = titles.get(title_id, (0, 0, 0))
        allocated, idle_seats = seats.get(title_id, (0, 0))
        positions.append({"title_id": title_id, "vendor": vendor, "name": name, "category": category,
                          "installed": count, "genuine": good, "non_genuine": bad,
                          "entitled": int(entitled.get(title_id) or 0), "allocated": allocated, "idle": idle_seats})
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
