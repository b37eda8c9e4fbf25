"""The compliance position of an org's subtree at any moment, from the allocation ledger and the
inventory reports, in the shape of the inspection survey form (软件正版化情况调查表)."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import re
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from kernel.auth import Principal
from kernel.bounds import moment_or_day
from kernel.errors import InvalidInput
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from services.licenses.allocations import seat_limits
from services.licenses.allocations.models import AllocationEntry
from services.licenses.catalogue import service as catalogue
from services.licenses.catalogue.models import CatalogueTitle
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
    """The report from two statements over the subtree's live devices at `as_of`: the computers
    per kind, then `report_rows` — the counts (per title, per form category, per genuine software
    name, per category's seats) and the entries that are not genuine, which the answer lists
    device by device. The entitlements of the subtree's titled pools are a third; a fourth names
    the devices over their limit, only when some device holds several seats of a category.

    Whether an installed entry is genuine is decided in SQL (`judged_entries`, SPEC "Inspection
    as the notices run it", the rule of `genuine_there`), so the hundreds of thousands of installed
    entries of a large group never reach Python: it reads the totals and the non-genuine entries
    (docs/performance.md, "Compliance with titles")."""
    org = await orgs.visible(session, principal, org_id)
    live = sa.and_(Device.org_path.startswith(org.path, autoescape=True), Device.created_at <= as_of,
                   sa.or_(Device.retired_at.is_(None), Device.retired_at > as_of))
    connection = await session.connection()  # Core rows: the ORM's row building is not needed
    kinds = dict((await connection.execute(sa.select(Device.kind, sa.func.count()).where(live)
                                           .group_by(Device.kind))).all())
    titles = {str(title_id): title for title_id, title in (await catalogue.current(session)).titles.items()}
    result = {"org_id": org.id, "org_name": org.name, "as_of": as_of,
              "computers": {"total": sum(kinds.values()), "desktop": kinds.get("desktop", 0),
                            "laptop": kinds.get("laptop", 0), "server": kinds.get("server", 0)}}
    with collector_paused():
        tally = await tallied(session, live, as_of, result["computers"]["total"])

    counts = tally.counts
    over_limit = (await devices_over_limit(session, live, as_of, counts["several"]) if counts["several"]
                  else defaultdict(list))
    for category in CATEGORIES:
        result[category] = {
            **counts["computers"][category],
            "genuine_software": [{"name": name, "count": count}
                                 for name, count in sorted(counts["software"][category].items())],
            "non_genuine_software": [{"name": name, "count": count}
                                     for name, count in sorted(tally.named_without[category].items())],
            "devices_without_license": tally.without[category],
            "devices_over_limit": over_limit[category],
        }
    result["titles"] = await title_positions(session, org.path, as_of, titles, counts["installed"],
                                             counts["allocated"])
    result["unapproved_installs"] = tally.unapproved
    return result


class Tally:
    """`report_rows` added up: the counts, and the lists of `listed`. Rows come in parts, each of
    the devices of a range of asset tags (`tallied`), in the ranges' order: every count is of
    devices, seats or (device, title) pairs, so the parts' counts add up, and each part's lists,
    in order of asset tag, follow the previous part's."""

    def __init__(self):
        self.counts = {"computers": {category: {"genuine": 0, "non_genuine": 0} for category in CATEGORIES},
                       "software": {category: Counter() for category in CATEGORIES},  # name → computers
                       "installed": defaultdict(lambda: [0, 0]),  # title → [computers, genuine there]
                       "allocated": defaultdict(lambda: [0, 0]),  # title → [seats, idle]
                       "several": set()}  # categories of which some computer holds several seats
        self.without: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
        self.named_without: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
        self.unapproved: list[dict] = []

    def add(self, rows: list) -> None:
        """One part's rows (the next range of asset tags)."""
        without, named, unapproved = listed(self.count(rows))
        for category in CATEGORIES:
            self.without[category] += without[category]
            self.named_without[category].update(named[category])
        self.unapproved += unapproved

    def count(self, rows: list) -> list:
        """Adds up the rows' counts; returns their entries."""
        counts, flawed = self.counts, []
        for row in rows:
            if row[0] is None:  # an entry: all but a few dozen rows of a large group's report
                flawed.append(row)
                continue
            part, category, name, title_id, first, second = row[:6]
            if part == "title" or part == "seats":
                both = counts["installed" if part == "title" else "allocated"][_id(title_id)]
                both[0] += first
                both[1] += second
            elif part == "category":
                computers = counts["computers"][category]
                computers["genuine"] += first
                computers["non_genuine"] += second
            elif part == "software":
                counts["software"][category][name] += first
            elif first > second:  # "held": more seats of the category than devices holding one
                counts["several"].add(category)
        return flawed


def listed(flawed: list) -> tuple[dict[str, list[dict]], dict[str, Counter], list[dict]]:
    """The non-genuine entries as the answer lists them: per form category the devices without a
    license with their software (and how many devices list each name), and the commercial titles
    installed without a seat or an approved request.

    Sorted here, by code point (the same order on PostgreSQL and SQLite, whatever the database's
    collation), by asset tag, device, name and title, a device's entries are consecutive and its
    software comes sorted: one pass builds the lists. The key is the device's columns (one text,
    `device_columns`, which begins with the asset tag and the device's id), the name and the
    title, joined by NUL: it orders as they would in turn, since no text holds a NUL or the
    columns' separator (`kernel.bounds.check_text` refuses control characters, PostgreSQL's text
    cannot hold a NUL). One sort by such a string took 44 ms for a large group's 130,000 entries,
    sorts by one column each 73 ms, and one by tuples more than both (docs/performance.md)."""
    flawed.sort(key=lambda row: f"{row[6]}\0{row[2]}\0{row[3]}")
    without: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    named: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    unapproved = []
    last: dict[str, tuple] = {}  # category → (device, its software) of its latest listed device
    # The device's columns (`device_columns`) stand for it: split once for its entries.
    this_device = device = org = asset_tag = hostname = last_unapproved = None
    for _, category, name, title_id, not_approved, _, columns in flawed:
        if columns != this_device:
            this_device = columns
            asset_tag, device, org, hostname = columns.split(DEVICE_COLUMNS_SEPARATOR)
            device, org = _id(device), _id(org)
        if not_approved and (this_device, title_id) != last_unapproved:  # a title reported twice: once
            unapproved.append({"device_id": device, "org_id": org, "asset_tag": asset_tag, "hostname": hostname,
                               "title_id": _id(title_id), "name": name, "category": category})
            last_unapproved = (this_device, title_id)
        if category not in CATEGORIES:
            continue
        latest = last.get(category)
        if latest is None or latest[0] != this_device:
            software = [name]
            without[category].append({"device_id": device, "org_id": org, "asset_tag": asset_tag,
                                      "hostname": hostname, "software": software})
            last[category] = (this_device, software)
        elif name != latest[1][-1]:  # a title or name reported twice (two versions) is listed once
            latest[1].append(name)
        else:
            continue
        named[category][name] += 1
    return without, named, unapproved


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector held off while the report's rows and lists are built:
    hundreds of thousands of tuples, dicts and lists for a large group, none in a cycle (reference
    counting frees them), which its passes walked again and again — 40 % of the report's Python
    time for 50,000 devices (docs/performance.md, "Compliance with titles"). Held off until the
    answer is written and its objects freed (the JSON route nests it so): each object freed takes
    itself off the count that starts the next pass, while one left for that pass is walked by it
    (0.12–0.2 s for a report of 50,000 devices). Nested, the outermost puts the collector back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def title_added_since(session: AsyncSession, title_id: str):
    """A title added after this process last read the catalogue (its revision moved meanwhile)."""
    return {str(t): title for t, title in (await catalogue.current(session)).titles.items()}[title_id]


def genuine_there(title, seat: bool, recorded: bool) -> bool:
    """SPEC Inspection: an installed title is genuine on a computer that holds a seat of a pool of
    that title, or when the title is free, or bundled and recorded as pre-installed there."""
    return seat or title.licensing == "free" or (title.licensing == "bundled" and recorded)


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


async def title_positions(session: AsyncSession, org_path: str, as_of: datetime, titles: dict,
                          installed: dict[str, list[int]], allocated: dict[str, list[int]]) -> list[dict]:
    """The license position of each title installed in the subtree or held in its pools at `as_of`:
    `installed` and `genuine` the computers (from `totals`), `entitled` the seats its entitlements
    granted then (those added by then and not yet ended, less any transferred away: the pools'
    total now), `allocated` the seats its computers held, `idle` those held on computers where the
    title is not installed (the first to reclaim)."""
    entitled = {_id(title_id): int(quantity) for title_id, quantity in (await session.execute(
        sa.select(as_text(Pool.title_id), sa.func.sum(Entitlement.quantity - Entitlement.transferred_out))
        .join(Entitlement, Entitlement.pool_id == Pool.id)
        .where(Pool.org_path.startswith(org_path, autoescape=True), Pool.title_id.is_not(None),
               Entitlement.created_at <= as_of,
               sa.or_(Entitlement.valid_to.is_(None), Entitlement.valid_to > as_of))
        .group_by(Pool.title_id))).all()}
    positions = []
    for title_id in {*installed, *entitled, *allocated}:
        title = titles.get(title_id) or await title_added_since(session, title_id)
        on, genuine = installed.get(title_id, (0, 0))
        seats, idle = allocated.get(title_id, (0, 0))
        positions.append({"title_id": title_id, "vendor": title.vendor, "name": title.name,
                          "category": title.category, "installed": on, "genuine": genuine,
                          "non_genuine": on - genuine, "entitled": entitled.get(title_id, 0),
                          "allocated": seats, "idle": idle})
    positions.sort(key=itemgetter("category", "vendor", "name", "title_id"))
    return positions


def as_text(id_column: sa.ColumnElement) -> sa.ColumnElement:
    """An id column read as its text (`8c0e…-…`), as the answer carries it, on either database: for
    the tens of thousands of ids of a report, no UUID object each to be turned back into text."""
    return sa.type_coerce(id_column, sa.Uuid(as_uuid=False))


def id_text(id_column: sa.ColumnElement) -> sa.ColumnElement[str]:
    """An id as the database spells it in text (PostgreSQL: `8c0e…-…`; SQLite: 32 hex digits, which
    `_id` spells out): for rows by the hundred thousand, no conversion per value on the way."""
    return sa.cast(id_column, sa.String)


def held_at(taken: type[AllocationEntry], as_of: datetime,
            among: sa.ColumnElement | None = None) -> sa.ColumnElement[bool]:
    """Whether the seat of ledger line `taken` was held at `as_of`: taken before it and not given
    back before it (the ledger never changes). NOT EXISTS on the ledger's unique (allocation_id,
    kind), which PostgreSQL plans as an anti-join, where a LEFT JOIN … IS NULL on another column
    was estimated as one row and drove nested loops over everything else. With `among` (an array
    of device ids, `held_seats`), only the lines of those devices are read for the giving back: a
    seat's two lines carry its device."""
    back = aliased(AllocationEntry, name="back")
    return sa.and_(taken.kind == "allocated", taken.at <= as_of,
                   ~sa.exists().where(back.allocation_id == taken.allocation_id, back.kind == "reclaimed",
                                      back.at <= as_of, *of_devices(back.device_id, among)))


def latest_report_at(as_of: datetime) -> sa.ColumnElement:
    """When the device's latest inventory report before `as_of` was made. `last_seen_at` is the time
    of its latest report, written in that report's transaction, so for a report now (the usual
    case) no report is looked up; for a past moment, one look-up on the (device_id, reported_at) key
    for each device that reported since."""
    earlier = (sa.select(sa.func.max(InventoryReport.reported_at))
               .where(InventoryReport.device_id == Device.id, InventoryReport.reported_at <= as_of)
               .scalar_subquery())
    return sa.case((Device.last_seen_at <= as_of, Device.last_seen_at), else_=earlier)


def live_device_ids(live: sa.ColumnElement[bool], dialect: str) -> sa.ColumnElement | None:
    """On PostgreSQL, the live devices' ids as one array (built once in the statement, a CTE), by
    which the report looks up their seats and their installed entries through the tables' device
    indexes (`= ANY`); None elsewhere.

    The report plans with hash joins only (`plan_for_whole_tables`), and a hash join with the
    devices reads every row of the other table: every seat ever taken or given back, every entry
    of every inventory, in the whole database, which grows with the province, not with the
    subtree. A group of 50,000 computers in a database with 640,000 ledger lines and 1.2 million
    installed entries took 922–978 ms in-process joined, and 697–750 ms looked up; in one holding
    only its own rows, the same either way (docs/performance.md, "Compliance with titles in a
    larger database"). SQLite plans its own joins, looking each device's rows up."""
    if dialect != "postgresql":
        return None
    ids = sa.select(sa.func.array_agg(Device.id).label("ids")).where(live).cte("live_ids")
    # One array, not a subquery's rows: `= ANY (SELECT …)` would compare the id with each row's array.
    return sa.cast(sa.select(ids.c.ids).scalar_subquery(), postgresql.ARRAY(sa.Uuid))


def of_devices(device_id: sa.ColumnElement, among: sa.ColumnElement | None) -> list[sa.ColumnElement[bool]]:
    """The condition that `device_id` is one of `among` (`live_device_ids`), or none without it."""
    return [] if among is None else [device_id == sa.func.any(among)]


def held_seats(live: sa.ColumnElement[bool], as_of: datetime, among: sa.ColumnElement | None) -> sa.Select:
    """The seats the live devices held at `as_of`: (device, category, product, title) each; looked
    up by device among `among` (`live_device_ids`) when given, else joined with the devices."""
    taken = aliased(AllocationEntry, name="taken")
    seats = sa.select(taken.device_id, taken.category, Pool.product_name, Pool.title_id)
    if among is None:
        return (seats.select_from(Device).join(taken, taken.device_id == Device.id)
                .join(Pool, Pool.id == taken.pool_id).where(live, held_at(taken, as_of)))
    return (seats.join(Pool, Pool.id == taken.pool_id)
            .where(*of_devices(taken.device_id, among), held_at(taken, as_of, among)))


def judged_entries(live: sa.ColumnElement[bool], as_of: datetime, held: sa.CTE,
                   among: sa.ColumnElement | None) -> sa.Select:
    """What each live device had installed at `as_of` (its latest inventory report before then),
    each entry with its category and name (its title's, or what the reporter said) and two flags:
    `seated`, the device holds a seat of its title, and `genuine` (SPEC Inspection, as
    `genuine_there`): a seat of its title, or a free title, or a bundled one recorded on the device;
    an entry no title recognizes is genuine when a seat of its reported category covers it.
    Updates and language packs are left out, and so are unrecognized entries without a category
    (they wait in the unrecognized queue). An entry is repeated for each seat that covers it (a
    device may hold two of one title): every total counts distinct devices.

    Narrow, and one join with the seats: the planner, estimating the subtree's entries at a few
    hundred where there are a hundred thousand (their report's time matched to the device's reads
    as a second, independent condition), hashes the entries rather than the seats, and hashing them
    twice with the device's columns (a join for the seat of the title, another for that of the
    category) cost a third of the statement. The listing's rows fetch the device's columns
    (`report_rows`). `IN` look-ups instead of the join are no better: PostgreSQL hashes them only
    when it expects many entries, and rescanned the seats for each entry otherwise (24 s for
    25,000 computers, tables not yet analysed). With `among` (`live_device_ids`), the entries are
    looked up by device before they are joined."""
    entry = InstalledSoftware
    title = CatalogueTitle
    seat = held.alias("seat")
    # A seat covers an entry of its title, or one without a title of its category; an entry
    # without a title has no licensing: each of the four cases can hold only for the entries it
    # concerns.
    covers = sa.or_(seat.c.title_id == entry.title_id,
                    sa.and_(entry.title_id.is_(None), seat.c.category == entry.category))
    genuine = sa.or_(seat.c.device_id.is_not(None), title.licensing == "free",
                     sa.and_(title.licensing == "bundled", BundledTitle.device_id.is_not(None)))
    return (sa.select(Device.id.label("device_id"), entry.title_id, title.licensing,
                      sa.func.coalesce(title.category, entry.category).label("category"),
                      sa.func.coalesce(title.name, entry.name).label("name"),
                      flag(seat.c.title_id == entry.title_id).label("seated"), flag(genuine).label("genuine"))
            .select_from(Device)
            .join(entry, sa.and_(entry.device_id == Device.id, entry.reported_at == latest_report_at(as_of)))
            .outerjoin(title, title.id == entry.title_id)
            .outerjoin(seat, sa.and_(seat.c.device_id == Device.id, covers))
            .outerjoin(BundledTitle, sa.and_(title.licensing == "bundled", BundledTitle.device_id == Device.id,
                                             BundledTitle.title_id == entry.title_id))
            .where(live, entry.not_a_product.is_(False),
                   sa.or_(entry.title_id.is_not(None), entry.category.in_(CATEGORIES)),
                   *of_devices(entry.device_id, among)))


# PostgreSQL answers the report's statement in up to `PARTS` parts at once, each for a range of
# asset tags on a connection of its own (`tallied`). A process runs at most `SPLIT_REPORTS`
# reports so at a time, so that they take at most that many times `PARTS` connections more.
PARTS = 2
SPLIT_REPORTS = 1
_split_now = 0
# A report of at most this many devices runs the one statement, planned as usual: the planner
# reads their entries through the (device, reported_at) index, where the whole-table plan (hash
# joins only) scanned every installed entry of the database — a department's report in a
# province's database. Five devices among 311,667 entries: 80-106 ms with the whole-table plan,
# 15-17 ms as usual (docs/performance.md, "Compliance with titles, in parts"). The whole-table
# plan now looks the entries and seats up by device too (`live_device_ids`), but still reads the
# smaller tables whole (titles, bundled records, approved requests); not measured again. Up to
# this many, a plan misled by statistics not yet gathered (nested loops rescanning the seats for
# each entry, quadratic in the devices: 35 s at 5,000) stays small: 54-75 ms for 200 freshly
# written devices.
FEW_DEVICES = 200
SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)*")


async def tallied(session: AsyncSession, live: sa.ColumnElement[bool], as_of: datetime, devices: int) -> Tally:
    """`report_rows` of the live devices, added up. On PostgreSQL in parts run at once, a range of
    asset tags each (`part_bounds`), on connections that see the session's snapshot (`SET
    TRANSACTION SNAPSHOT`, as pg_dump's parallel jobs do): the parts add up to what the one
    statement would answer, write for write. Python adds up the first part while the others run.

    A statement runs on one core: the report's, for a large group, took 1.2 s of PostgreSQL CPU
    (docs/performance.md, "Compliance with titles"), and in parts the server's cores share it.
    PostgreSQL's own parallel query does not help here: the statement reads its CTEs several times,
    and a CTE is read by the leader alone. More parts than two cost more than they save: each
    part reads the installed entries anew. The one statement on SQLite (one writer, one core's
    worth), while another report runs in parts in this process, and when the pool has fewer than
    `PARTS` connections free (a report holding one connection and waiting for more could wait for
    its own). The one statement planned as usual for a report of `FEW_DEVICES` or fewer (`devices`,
    the live devices)."""
    global _split_now
    tally = Tally()
    connection = await session.connection()
    pool = session.bind.sync_engine.pool
    few = devices <= FEW_DEVICES
    if (few or connection.dialect.name != "postgresql" or _split_now >= SPLIT_REPORTS
            or pool.size() - pool.checkedout() < PARTS):
        settings = {} if few else await plan_for_whole_tables(connection)
        tally.add(driver_rows(await connection.execute(report_rows(live, as_of, connection.dialect.name))))
        await plan_as_usual(connection, settings)
        return tally
    _split_now += 1
    try:
        tag = sa.collate(Device.asset_tag, "C")  # Python's order of strings: by code point
        bounds = await part_bounds(connection, live, tag)
        shares = [tag < bounds[0], *(sa.and_(tag >= low, tag < high) for low, high in pairwise(bounds)),
                  tag >= bounds[-1]] if bounds else [sa.true()]
        snapshot = await connection.scalar(sa.select(sa.func.pg_export_snapshot()))
        parts = [asyncio.create_task(part_rows(session.bind, snapshot, sa.and_(live, share), as_of))
                 for share in shares]
        try:
            for n, part in enumerate(parts):
                tally.add(await part)
                parts[n] = None  # its rows go as soon as they are added up
        except BaseException:
            for part in parts:
                if part is not None:
                    part.cancel()
            await asyncio.gather(*(part for part in parts if part is not None), return_exceptions=True)
            raise
        return tally
    finally:
        _split_now -= 1


async def part_rows(engine: AsyncEngine, snapshot: str, live: sa.ColumnElement[bool], as_of: datetime) -> list:
    """`report_rows` of some live devices, on a connection of its own, as of `snapshot`."""
    async with engine.connect() as connection:
        await see_snapshot(connection, snapshot)
        return driver_rows(await connection.execute(report_rows(live, as_of, connection.dialect.name)))


def driver_rows(result: sa.CursorResult) -> list:
    """The result's rows as the driver made them (asyncpg's records, sqlite3's tuples), without
    SQLAlchemy's row around each: the report's rows hold only text, integers and NULLs, which
    need no conversion, and a large group's 130,000 cost 48 ms of Python to wrap (py-spy,
    docs/performance.md). The result is closed."""
    rows = result.cursor.fetchall()
    result.close()
    return rows


async def part_bounds(connection: AsyncConnection, live: sa.ColumnElement[bool], tag: sa.ColumnElement[str]
                      ) -> list[str]:
    """The asset tags that cut the live devices into `PARTS` ranges of about as many devices each
    (fewer when many devices share a tag); none when there are no devices."""
    fractions = [n / PARTS for n in range(1, PARTS)]
    bounds = await connection.scalar(sa.select(
        sa.func.percentile_disc(sa.literal(fractions, postgresql.ARRAY(sa.Float)))
        .within_group(tag).cast(postgresql.ARRAY(sa.String))).where(live))
    return sorted(set(bounds or ()))


async def see_snapshot(connection: AsyncConnection, snapshot: str) -> None:
    """Makes the connection's transaction read-only, at `snapshot` (exported by the report's
    session), with the report's planner settings: the import must be the transaction's first
    statement, in a repeatable-read transaction."""
    if not SNAPSHOT_ID.fullmatch(snapshot):  # written into the statement: a utility takes no parameters
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    await connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    await connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    await set_locally(connection, WHOLE_TABLES)


# The planner settings of the report's statement (PostgreSQL): see `plan_for_whole_tables`.
WHOLE_TABLES = {"enable_nestloop": "off", "work_mem": "64MB", "jit": "off"}


async def plan_for_whole_tables(connection: AsyncConnection) -> dict[str, str]:
    """On PostgreSQL, for the report's statement (a report of more than `FEW_DEVICES` devices): hash
    joins, never nested loops, and room to hash and sort in memory, for this transaction only;
    returns the settings it replaced, which `plan_as_usual` puts back (the parts' connections,
    `see_snapshot`, keep them to the end of their read-only transactions).

    The statement's joins and groupings take every installed entry and seat of the subtree
    (hundreds of thousands for a large group), so a hash join is the right plan whatever the
    statistics say. But tables written in bulk and not yet analysed have row estimates off by
    10,000× (the devices of a subtree estimated at one row), and on them the planner chose nested
    loops that rescan the seats for every installed entry: 35 s for 5,000 devices. Without nested
    loops the plan is the same whatever the statistics (docs/performance.md, "Compliance with
    titles").

    And no JIT compilation: on analysed tables of a large group the statement's estimated cost
    passes `jit_above_cost`, and compiling its expressions took 1.0 s of a report (50,000
    computers, load 21) to save a fraction of that on 250,000 rows."""
    if connection.dialect.name != "postgresql":
        return {}
    before = {name: await connection.scalar(sa.select(sa.func.current_setting(name))) for name in WHOLE_TABLES}
    await set_locally(connection, WHOLE_TABLES)
    return before


async def plan_as_usual(connection: AsyncConnection, before: dict[str, str]) -> None:
    """The planner settings `plan_for_whole_tables` replaced, back for the rest of the transaction."""
    await set_locally(connection, before)


async def set_locally(connection: AsyncConnection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        await connection.execute(sa.select(sa.func.set_config(name, value, True)))


def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """A condition as 1 or 0, which both databases sum, compare and take the maximum of alike."""
    return sa.case((condition, 1), else_=0)


# Between the device's columns in the report's entries (`device_columns`): a character no stored
# text holds (`kernel.bounds.check_text` refuses control characters).
DEVICE_COLUMNS_SEPARATOR = "\x01"


def device_columns() -> sa.ColumnElement[str]:
    """The device's asset tag, id, org and host name, as one text: for the 130,000 entries of a
    large group's report, one value to decode instead of four, and split once per device
    (`listed`), where the driver made a text object of each of the four for every entry."""
    sep = sa.literal(DEVICE_COLUMNS_SEPARATOR)
    return Device.asset_tag + sep + id_text(Device.id) + sep + id_text(Device.org_id) + sep + Device.hostname


def report_rows(live: sa.ColumnElement[bool], as_of: datetime, dialect: str) -> sa.CompoundSelect:
    """The report in one statement over the judged entries (computed once), rows of (part,
    category, name, title, first, second, the device's columns). The counts, the device's columns
    empty:
    `title` the devices a title is installed on and those where it is genuine; `seats` the seats
    of a title held and those idle (on a device without it); `category` the genuine and the
    non-genuine computers of a form category (genuine: a seat of it or a genuine title of it, and
    nothing non-genuine of it); `software` per form category and genuine name, the computers (the
    seats' products, and the titles genuine without a seat); `held` per category the seats and the
    devices holding one (more seats than devices: some device holds several). Then, `part` empty,
    the entries not genuine on their device (a title reported twice on a device comes twice), `title`
    empty for an unrecognized one, the device's columns joined (`device_columns`), `first` 1 for a
    commercial title without an install request approved by `as_of` (SPEC Oversight,
    安装、卸载审核机制: what someone installed without asking); those of the form's
    categories are the report's devices without a license. `dialect` is the database's: on
    PostgreSQL the seats and the entries are looked up by device (`live_device_ids`)."""
    among = live_device_ids(live, dialect)
    held = held_seats(live, as_of, among).cte("held")
    judged = judged_entries(live, as_of, held, among).cte("judged")
    # Typed empties: PostgreSQL takes two bare NULLs in a column of a UNION for text.
    null, none = sa.cast(sa.null(), sa.String), sa.cast(sa.null(), sa.BigInteger)
    device, in_form = judged.c.device_id, judged.c.category.in_(CATEGORIES)
    # Each (device, title) once (a title reported twice on a device, or a device holding two seats
    # of it, counts once), grouped once for the two parts that read it.
    pairs = (sa.select(device, judged.c.title_id, sa.func.max(judged.c.genuine).label("genuine"))
             .where(judged.c.title_id.is_not(None)).group_by(device, judged.c.title_id).cte("pairs"))
    per_title = (sa.select(sa.literal("title"), null, null, id_text(pairs.c.title_id), sa.func.count(),
                           sa.func.sum(pairs.c.genuine))
                 .group_by(pairs.c.title_id))
    per_seat_title = (sa.select(sa.literal("seats"), null, null, id_text(held.c.title_id), sa.func.count(),
                                sa.func.sum(flag(pairs.c.device_id.is_(None))))
                      .select_from(held)
                      .outerjoin(pairs, sa.and_(pairs.c.device_id == held.c.device_id,
                                                pairs.c.title_id == held.c.title_id))
                      .where(held.c.title_id.is_not(None)).group_by(held.c.title_id))
    marks = sa.union_all(
        sa.select(held.c.category, held.c.device_id, sa.literal(0).label("bad")).where(held.c.category.in_(CATEGORIES)),
        sa.select(judged.c.category, device, (1 - judged.c.genuine).label("bad")).where(in_form)).subquery("marks")
    per_device = (sa.select(marks.c.category, sa.func.max(marks.c.bad).label("bad"))
                  .group_by(marks.c.category, marks.c.device_id).subquery("per_device"))
    per_category = (sa.select(sa.literal("category"), per_device.c.category, null, null,
                              sa.func.sum(1 - per_device.c.bad), sa.func.sum(per_device.c.bad))
                    .group_by(per_device.c.category))
    named = sa.union_all(
        sa.select(held.c.category, held.c.product_name.label("name"), held.c.device_id)
        .where(held.c.category.in_(CATEGORIES)),
        sa.select(judged.c.category, judged.c.name, device)
        .where(in_form, judged.c.genuine == 1, judged.c.seated == 0, judged.c.title_id.is_not(None))
    ).subquery("named")
    per_name = (sa.select(sa.literal("software"), named.c.category, named.c.name, null,
                          sa.func.count(sa.distinct(named.c.device_id)), none)
                .group_by(named.c.category, named.c.name))
    per_held = (sa.select(sa.literal("held"), held.c.category, null, null, sa.func.count(),
                          sa.func.count(sa.distinct(held.c.device_id)))
                .group_by(held.c.category))
    # An IN over the approved requests, not a correlated EXISTS: PostgreSQL hashes them once,
    # where the EXISTS looked the requests up again for each of the 50,000 commercial entries.
    asked = sa.tuple_(judged.c.device_id, judged.c.title_id).in_(
        sa.select(InstallRequest.device_id, InstallRequest.title_id)
        .where(InstallRequest.kind == "install", InstallRequest.status == "approved",
               InstallRequest.decided_at <= as_of))
    entries = (sa.select(null, judged.c.category, judged.c.name, sa.func.coalesce(id_text(judged.c.title_id), ""),
                         flag(sa.and_(judged.c.licensing == "commercial", ~asked)), none, device_columns())
               # `live` again: the subtree's devices through their path's index, not the whole table.
               .select_from(judged).join(Device, Device.id == judged.c.device_id)
               .where(live, judged.c.genuine == 0, sa.or_(in_form, judged.c.licensing == "commercial")))
    counts = [part.add_columns(null) for part in (per_title, per_seat_title, per_category, per_name, per_held)]
    return sa.union_all(*counts, entries)


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


# A note names at most this many devices: Excel keeps at most 32,767 characters in a cell, which
# the asset tags of a large group's unlicensed computers pass (50,000 of them: about 300,000). The
# device list (`device_rows`) names them all.
NOTE_DEVICES = 20
DEVICE_LIST = "设备清单"


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
            notes.append("未授权设备：" + named_devices([d["asset_tag"] for d in part["devices_without_license"]]))
        if part["devices_over_limit"]:
            notes.append("超出每台限额设备：" + named_devices([f"{d['asset_tag']}（{d['seats']}套）"
                                                       for d in part["devices_over_limit"]]))
        note = "；".join(notes)
        rows.append([label, names, part["genuine"], bad, part["non_genuine"], note])
    c = report["computers"]
    summary = f"总数：{c['total']}台，其中台式{c['desktop']}台，便携式{c['laptop']}台，服务器{c['server']}台"
    rows.append(["电脑台数", summary, c["total"], "", "", ""])
    return rows


def named_devices(devices: list[str]) -> str:
    """The devices of a note: all of them, or the first `NOTE_DEVICES` and how many in all."""
    if len(devices) <= NOTE_DEVICES:
        return "、".join(devices)
    return "、".join(devices[:NOTE_DEVICES]) + f" 等 {len(devices)} 台（全部见{DEVICE_LIST}）"


def device_rows(report: dict) -> list[list]:
    """Every device the notes name, one row each: the unlicensed ones with their non-genuine
    software, then those over their limit with the products of their seats. A row begins with the
    asset tag, never with a form row's first cell (a script reading the CSV by its first column
    still finds the form's rows)."""
    rows = [["资产编号", "主机名", "软件项目", "情况", "软件"]]
    for category, label in CATEGORIES.items():
        part = report[category]
        rows += [[d["asset_tag"], d["hostname"], label, "未授权", "、".join(d["software"])]
                 for d in part["devices_without_license"]]
        rows += [[d["asset_tag"], d["hostname"], label, f"超出每台限额（{d['seats']}套，限{d['seats_per_device']}套）",
                  "、".join(d["software"])] for d in part["devices_over_limit"]]
    return rows


def as_csv(report: dict) -> bytes:
    """The form, then the device list under its title."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(form_rows(report))
    writer.writerows([[DEVICE_LIST], *device_rows(report)])
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
    devices = book.create_sheet(DEVICE_LIST)
    for row in device_rows(report):
        devices.append(row)
    for cell in devices[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (16, 24, 16, 24, 40), strict=True):
        devices.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
