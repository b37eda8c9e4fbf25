"""The compliance position now and at past times, and the inspection form in CSV and Excel."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from kernel.db import Database
from kernel.ids import utcnow
from services.licenses.compliance import service
from services.licenses.devices.models import Device
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool
from tests.support.databases import on_postgres

WPS = {"name": "WPS Office", "vendor": "金山办公", "version": "12", "category": "office"}
WINDOWS = {"name": "Windows 11", "vendor": "Microsoft", "version": "23H2", "category": "os"}


async def report(svc, actor, org, **params):
    resp = await svc.client.get(f"{PREFIX}/compliance", params={"org_id": str(org.id), **params}, headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_genuine_and_non_genuine_now_and_as_of_before_the_changes(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=5)
    first = await make_device(licenses, admin, "C-1")
    second = await make_device(licenses, admin, "C-2", kind="laptop")
    await make_device(licenses, admin, "C-3", kind="server", org=tree["school_a1"])
    for device in (first, second):
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS, WINDOWS]})
        assert resp.status_code == 200
    before = utcnow()
    assert (await allocate(licenses, admin, office["id"], first["id"])).status_code == 201

    now = await report(licenses, admin, tree["dept_a"])
    assert now["computers"] == {"total": 3, "desktop": 1, "laptop": 1, "server": 1}
    assert (now["office"]["genuine"], now["office"]["non_genuine"]) == (1, 1)
    assert [d["asset_tag"] for d in now["office"]["devices_without_license"]] == ["C-2"]
    assert now["office"]["devices_without_license"][0]["software"] == ["WPS Office"]
    assert now["office"]["genuine_software"] == [{"name": "WPS Office 2019", "count": 1}]
    assert (now["os"]["genuine"], now["os"]["non_genuine"]) == (0, 2)
    assert (now["antivirus"]["genuine"], now["antivirus"]["non_genuine"]) == (0, 0)

    past = await report(licenses, admin, tree["dept_a"], as_of=before.isoformat())
    assert (past["office"]["genuine"], past["office"]["non_genuine"]) == (0, 2)
    # Before any device existed: nothing at all.
    ancient = await report(licenses, admin, tree["dept_a"], as_of="2020-01-01")
    assert ancient["computers"]["total"] == 0 and ancient["office"]["non_genuine"] == 0

    # Reclaiming the seat later does not change what the past looked like.
    seat = (await licenses.client.get(f"{PREFIX}/allocations", params={"assignee_id": first["id"]},
                                      headers=admin.headers)).json()["items"][0]
    middle = utcnow()
    await licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                               json={"reason": "test"})
    assert (await report(licenses, admin, tree["dept_a"]))["office"]["genuine"] == 0
    assert (await report(licenses, admin, tree["dept_a"], as_of=middle.isoformat()))["office"]["genuine"] == 1
    bad = await licenses.client.get(f"{PREFIX}/compliance", params={"org_id": str(tree["dept_a"].id),
                                                                     "as_of": "yesterday"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-as-of")


async def test_each_moment_reads_the_latest_report_before_it(licenses, tree):
    """A device's software at `as_of` is its latest inventory report before then: now the newest
    one, at a past moment an earlier one, before its first report none."""
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "R-1")
    await make_device(licenses, admin, "R-2")  # never reports: counted, never listed
    before_any = utcnow()

    async def send(software):
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": software})
        assert resp.status_code == 200, resp.text

    await send([WPS, WINDOWS])
    between = utcnow()
    await send([WINDOWS])
    after_second = utcnow()
    await send([])

    def listed(body):
        return {category: [(d["asset_tag"], d["software"]) for d in body[category]["devices_without_license"]]
                for category in ("os", "office") if body[category]["devices_without_license"]}

    assert listed(await report(licenses, admin, tree["dept_a"], as_of=between.isoformat())) == {
        "os": [("R-1", ["Windows 11"])], "office": [("R-1", ["WPS Office"])]}
    assert listed(await report(licenses, admin, tree["dept_a"], as_of=after_second.isoformat())) == {
        "os": [("R-1", ["Windows 11"])]}
    now = await report(licenses, admin, tree["dept_a"])
    assert now["computers"]["total"] == 2 and listed(now) == {}
    assert listed(await report(licenses, admin, tree["dept_a"], as_of=before_any.isoformat())) == {}


async def test_csv_and_xlsx_follow_the_survey_form(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=5)
    device = await make_device(licenses, admin, "F-1")
    other = await make_device(licenses, admin, "F-2", kind="laptop")
    for d in (device, other):
        await licenses.client.post(f"{PREFIX}/devices/{d['id']}/inventory", headers=admin.headers,
                                   json={"software": [WPS]})
    await allocate(licenses, admin, office["id"], device["id"])
    params = {"org_id": str(tree["dept_a"].id), "as_of": (utcnow() + timedelta(seconds=1)).isoformat()}

    resp = await licenses.client.get(f"{PREFIX}/compliance.csv", params=params, headers=admin.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == ["软件正版化情况调查表"]
    assert rows[1][:2] == ["单位名称", "dept_a"]
    assert rows[2] == ["软件项目", "正版软件名称", "正版数量", "非正版软件名称", "非正版数量", "备注"]
    by_item = {row[0]: row for row in rows[3:8]}
    assert list(by_item) == ["操作系统软件", "办公软件", "杀毒软件", "主要业务软件", "电脑台数"]
    assert by_item["办公软件"][1:5] == ["WPS Office 2019（1）", "1", "WPS Office（1）", "1"]
    assert by_item["办公软件"][5] == "未授权设备：F-2"
    assert by_item["电脑台数"][1] == "总数：2台，其中台式1台，便携式1台，服务器0台"
    # After the form, every device the notes name.
    assert rows[8:] == [["设备清单"], ["资产编号", "主机名", "软件项目", "情况", "软件"],
                        ["F-2", "host-F-2", "办公软件", "未授权", "WPS Office"]]

    resp = await licenses.client.get(f"{PREFIX}/compliance.xlsx", params=params, headers=admin.headers)
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[2][:3] == ("软件项目", "正版软件名称", "正版数量")
    office_row = next(row for row in values if row[0] == "办公软件")
    assert (office_row[2], office_row[4]) == (1, 1)
    assert next(row for row in values if row[0] == "电脑台数")[2] == 2


async def test_a_large_groups_notes_name_the_first_devices_and_the_list_names_all(licenses, tree):
    """Excel keeps at most 32,767 characters in a cell, fewer than the asset tags of a large group's
    unlicensed computers: the note names the first ones and how many in all, the device list after
    the form (CSV) or on its own sheet (XLSX) every one, with its software."""
    admin = tree.actor("dept_a", "it_admin")
    count = service.NOTE_DEVICES + 5
    for n in range(count):
        device = await make_device(licenses, admin, f"N-{n:02d}")
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS]})
        assert resp.status_code == 200, resp.text
    tags = [f"N-{n:02d}" for n in range(count)]
    params = {"org_id": str(tree["dept_a"].id)}
    note = "未授权设备：" + "、".join(tags[:service.NOTE_DEVICES]) + f" 等 {count} 台（全部见设备清单）"
    listed = [[tag, f"host-{tag}", "办公软件", "未授权", "WPS Office"] for tag in tags]

    resp = await licenses.client.get(f"{PREFIX}/compliance.csv", params=params, headers=admin.headers)
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[4][0] == "办公软件" and rows[4][4:] == [str(count), note]
    assert rows[8:10] == [["设备清单"], ["资产编号", "主机名", "软件项目", "情况", "软件"]]
    assert rows[10:] == listed

    resp = await licenses.client.get(f"{PREFIX}/compliance.xlsx", params=params, headers=admin.headers)
    assert resp.status_code == 200, resp.text
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["调查表", "设备清单"]
    office_row = next(row for row in book["调查表"].iter_rows(values_only=True) if row[0] == "办公软件")
    assert (office_row[4], office_row[5]) == (count, note)
    assert [list(row) for row in book["设备清单"].iter_rows(min_row=2, values_only=True)] == listed


@pytest.mark.skipif(not on_postgres(), reason="an operator class of PostgreSQL")
async def test_a_subtrees_devices_are_found_through_the_org_path_index(licenses, tree):
    """Under any database collation but C, PostgreSQL serves `org_path LIKE 'prefix%'` (the report's
    and every list's subtree filter) from a btree only with the pattern operator class; without
    it the report read every device of every org (issue #17)."""
    subtree = sa.select(Device.id).where(Device.org_path.startswith(tree["dept_a"].path, autoescape=True))
    sql = str(subtree.compile(licenses.db.engine, compile_kwargs={"literal_binds": True}))
    async with licenses.db.session() as session:
        # The tables are nearly empty, where reading them whole is cheapest: forbid that.
        await session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await session.execute(sa.text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_devices_org_path" in plan, plan


@pytest.mark.parametrize("few_devices", [service.FEW_DEVICES, 0], ids=["as-usual", "whole-tables"])
async def test_a_report_counts_its_subtrees_seats_and_entries_only(licenses, tree, monkeypatch, few_devices):
    """On PostgreSQL the report looks its devices' seats and entries up by device (`live_device_ids`)
    rather than joining whole tables: it counts those of its subtree, and not those of the devices
    beside it, holding seats of the same pool; a seat given back counts in no report."""
    monkeypatch.setattr(service, "FEW_DEVICES", few_devices)
    admin = tree.actor("province", "it_admin")
    office = await make_pool(licenses, admin, quantity=10)
    devices = {tag: await make_device(licenses, admin, tag, org=tree[org])
               for tag, org in (("A-1", "dept_a"), ("A-2", "dept_a"), ("B-1", "dept_b"), ("B-2", "dept_b"),
                                ("B-3", "dept_b"))}
    for device in devices.values():
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS]})
        assert resp.status_code == 200, resp.text
    for tag in ("A-1", "A-2", "B-1", "B-2"):
        assert (await allocate(licenses, admin, office["id"], devices[tag]["id"])).status_code == 201
    seat = (await licenses.client.get(f"{PREFIX}/allocations", params={"assignee_id": devices["A-2"]["id"]},
                                      headers=admin.headers)).json()["items"][0]
    resp = await licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                                      json={"reason": "left"})
    assert resp.status_code == 200, resp.text

    def office_of(body):
        return (body["office"]["genuine"], [d["asset_tag"] for d in body["office"]["devices_without_license"]],
                body["office"]["genuine_software"])

    assert office_of(await report(licenses, admin, tree["dept_a"])) == (
        1, ["A-2"], [{"name": "WPS Office 2019", "count": 1}])
    assert office_of(await report(licenses, admin, tree["dept_b"])) == (
        2, ["B-3"], [{"name": "WPS Office 2019", "count": 2}])
    assert office_of(await report(licenses, admin, tree["province"])) == (
        3, ["A-2", "B-3"], [{"name": "WPS Office 2019", "count": 3}])


@pytest.mark.skipif(not on_postgres(), reason="planner settings are PostgreSQL's; SQLite has none to set "
                    "(the PostgreSQL pass runs it)")
async def test_the_reports_statement_is_planned_with_hash_joins_and_no_jit_then_as_usual(licenses):
    """The report's statement runs with nested loops and JIT compilation off (a large group's
    analysed tables pass JIT's cost threshold: a second of compiling per report), and the rest of
    the transaction plans as before."""
    async with licenses.db.session() as session:
        connection = await session.connection()

        async def settings():
            return [await connection.scalar(sa.select(sa.func.current_setting(name)))
                    for name in ("enable_nestloop", "jit", "work_mem")]

        before = await settings()
        replaced = await service.plan_for_whole_tables(connection)
        assert await settings() == ["off", "off", "64MB"]
        await service.plan_as_usual(connection, replaced)
        assert await settings() == before and before[:2] == ["on", "on"]


@pytest.mark.skipif(not on_postgres(), reason="the report runs in parts on PostgreSQL only; on SQLite the one "
                    "statement (every other test here) is all there is")
async def test_the_report_in_parts_answers_what_the_one_statement_answers(licenses, tree, monkeypatch):
    """On PostgreSQL the report's statement runs in `PARTS` parts, each for a range of asset tags:
    their counts add up and their lists join, in order, to the one statement's answer."""
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=20)
    windows = await make_pool(licenses, admin, quantity=20, product="Windows 11", vendor="Microsoft", category="os")
    # Tags whose code point order is not the usual collations' (lower case, upper case, Chinese).
    tags = [f"{prefix}-{n}" for prefix in ("p", "P", "资产") for n in range(6)]
    for n, tag in enumerate(tags):
        device = await make_device(licenses, admin, tag)
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS, WINDOWS] if n % 3 else [WPS]})
        assert resp.status_code == 200, resp.text
        if n % 2:
            assert (await allocate(licenses, admin, office["id"], device["id"])).status_code == 201
        if n % 4 == 0:
            assert (await allocate(licenses, admin, windows["id"], device["id"])).status_code == 201
    parts = []
    add = service.Tally.add
    monkeypatch.setattr(service.Tally, "add", lambda tally, rows: (parts.append(rows), add(tally, rows)))
    monkeypatch.setattr(service, "FEW_DEVICES", 0)  # these few devices as a large group's
    in_parts = await report(licenses, admin, tree["dept_a"])
    assert len(parts) == service.PARTS
    monkeypatch.setattr(service, "SPLIT_REPORTS", 0)
    whole = await report(licenses, admin, tree["dept_a"])
    assert len(parts) == service.PARTS + 1  # the second report ran as one statement
    half = len(tags) // 2  # the odd-numbered devices hold an office seat
    assert (whole["office"]["genuine"], whole["office"]["non_genuine"]) == (half, len(tags) - half)
    assert [d["asset_tag"] for d in in_parts["office"]["devices_without_license"]] == sorted(
        tag for n, tag in enumerate(tags) if n % 2 == 0)
    assert {**in_parts, "as_of": None} == {**whole, "as_of": None}


@pytest.mark.skipif(not on_postgres(), reason="snapshots shared between connections are PostgreSQL's")
async def test_each_part_reads_the_snapshot_the_report_began_with(licenses, tree):
    """A part runs on a connection of its own, at the snapshot its report exported: a device
    reported meanwhile is in no part, though a new statement of the report's session sees it."""
    admin = tree.actor("dept_a", "it_admin")

    async def reported(tag: str) -> None:
        device = await make_device(licenses, admin, tag)
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS]})
        assert resp.status_code == 200, resp.text

    def listed(rows) -> list[str]:
        # The entries' asset tags: an entry's part is empty, its device's columns begin with the tag.
        return sorted(row[6].split(service.DEVICE_COLUMNS_SEPARATOR)[0] for row in rows if row[0] is None)

    await reported("S-1")
    live = Device.org_path.startswith(tree["dept_a"].path, autoescape=True)
    async with licenses.db.session() as session:
        connection = await session.connection()
        snapshot = await connection.scalar(sa.select(sa.func.pg_export_snapshot()))
        await reported("S-2")  # committed by the service after the snapshot
        as_of = utcnow()
        async with licenses.db.engine.connect() as part_connection:
            await service.see_snapshot(part_connection, snapshot)
            part = (await part_connection.execute(service.report_rows(live, as_of, "postgresql"))).all()
        statement = (await connection.execute(service.report_rows(live, as_of, "postgresql"))).all()
    assert listed(part) == ["S-1"]
    assert listed(statement) == ["S-1", "S-2"]  # read committed: each statement its own snapshot


@pytest.mark.skipif(not on_postgres(), reason="the report runs in parts on PostgreSQL only")
async def test_a_report_without_free_connections_runs_as_one_statement(licenses, tree, monkeypatch):
    """A report holds its session's connection; with fewer than `WORKERS` others free in the pool
    it does not wait for them (it could wait for its own) but runs the one statement."""
    admin = tree.actor("dept_a", "it_admin")
    for tag in ("W-1", "W-2"):
        device = await make_device(licenses, admin, tag)
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS]})
        assert resp.status_code == 200, resp.text
    parts = []
    add = service.Tally.add
    monkeypatch.setattr(service.Tally, "add", lambda tally, rows: (parts.append(rows), add(tally, rows)))
    db = Database(licenses.db.url, pool_size=1)
    live = Device.org_path.startswith(tree["dept_a"].path, autoescape=True)
    try:
        async with db.session() as session:
            tally = await asyncio.wait_for(service.tallied(session, live, utcnow(), service.FEW_DEVICES + 1), 20)
    finally:
        await db.dispose()
    assert len(parts) == 1
    assert [d["asset_tag"] for d in tally.without["office"]] == ["W-1", "W-2"]


@pytest.mark.skipif(not on_postgres(), reason="the report runs in parts on PostgreSQL only")
async def test_reports_at_once_answer_alike_while_one_runs_in_parts(licenses, tree, monkeypatch):
    """Several reports at once in one process: one runs in parts, the others as the one statement
    (`SPLIT_REPORTS`), and every answer is the same."""
    admin = tree.actor("dept_a", "it_admin")
    office = await make_pool(licenses, admin, quantity=20)
    for n in range(8):
        device = await make_device(licenses, admin, f"R-{n}")
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS, WINDOWS]})
        assert resp.status_code == 200, resp.text
        if n % 2:
            assert (await allocate(licenses, admin, office["id"], device["id"])).status_code == 201
    added, others_done = [], asyncio.Event()
    add, part_rows = service.Tally.add, service.part_rows

    def counted(tally, rows):
        added.append(rows)
        add(tally, rows)
        if len(added) == 3:  # the three reports that could not run in parts
            others_done.set()

    async def held_back(*args):  # the parts wait for the others: the reports overlap, whatever the timing
        await others_done.wait()
        return await part_rows(*args)

    monkeypatch.setattr(service.Tally, "add", counted)
    monkeypatch.setattr(service, "part_rows", held_back)
    monkeypatch.setattr(service, "FEW_DEVICES", 0)  # these few devices as a large group's
    answers = await asyncio.wait_for(asyncio.gather(*(report(licenses, admin, tree["dept_a"]) for _ in range(4))), 60)
    assert len(added) == 3 + service.PARTS  # three as the one statement, one in parts
    assert {(a["office"]["genuine"], a["office"]["non_genuine"], a["os"]["non_genuine"]) for a in answers} == {
        (4, 4, 8)}
    assert len({orjson.dumps({**a, "as_of": None}, option=orjson.OPT_SORT_KEYS) for a in answers}) == 1


@pytest.mark.skipif(not on_postgres(), reason="planner settings and parts are PostgreSQL's; SQLite runs the one "
                    "statement for any report")
async def test_a_report_of_few_devices_is_planned_as_usual_and_a_large_groups_in_parts(licenses, tree, monkeypatch):
    """A report of `FEW_DEVICES` or fewer runs the one statement as the planner would plan it (its
    devices' entries through their index, whatever the size of the database); a larger group's
    runs in parts, with hash joins only. Both answer alike."""
    admin = tree.actor("dept_a", "it_admin")
    for tag in ("F-1", "F-2", "F-3"):
        device = await make_device(licenses, admin, tag)
        resp = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                                          json={"software": [WPS, WINDOWS]})
        assert resp.status_code == 200, resp.text
    statements = []

    def captured(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    def judging(sent: list[str]) -> int:
        return sum(bool(re.match(r"\s*WITH\b.*\bheld AS\s*\(", statement, re.S)) for statement in sent)

    sa.event.listen(licenses.db.engine.sync_engine, "before_cursor_execute", captured)
    try:
        few = await report(licenses, admin, tree["dept_a"])
        as_usual, statements[:] = list(statements), []
        monkeypatch.setattr(service, "FEW_DEVICES", 2)
        large = await report(licenses, admin, tree["dept_a"])
    finally:
        sa.event.remove(licenses.db.engine.sync_engine, "before_cursor_execute", captured)
    assert judging(as_usual) == 1 and not any("set_config" in statement for statement in as_usual)
    assert judging(statements) == service.PARTS and any("set_config" in statement for statement in statements)
    assert few["os"]["non_genuine"] == 3
    assert {**few, "as_of": None} == {**large, "as_of": None}
