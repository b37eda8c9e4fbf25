"""Entitlements from a spreadsheet (last years' certificates): dates as people write them, seats
joining the pools, all rows or none with every row's error, re-importing changing nothing."""

from __future__ import annotations

import asyncio
import io

from openpyxl import load_workbook

from kernel import imports
from tests.licenses.conftest import PREFIX
from tests.support.imports import assert_bad_files_refused, refused, upload, xlsx

URL = f"{PREFIX}/entitlements:import"
HEADER = "证书编号,产品名称,厂商,类别,授权方式,授权数量,生效日期,截止日期,来源,单位"


async def pools(svc, actor) -> dict[str, int]:
    resp = await svc.client.get(f"{PREFIX}/pools", params={"limit": 200}, headers=actor.headers)
    return {f"{p['org_id']}:{p['product_name']}": p["total"] for p in resp.json()["items"]}


async def entitlements(svc, actor) -> dict[str, dict]:
    resp = await svc.client.get(f"{PREFIX}/entitlements", params={"limit": 200}, headers=actor.headers)
    return {e["reference"]: e for e in resp.json()["items"]}


async def test_certificates_join_the_pools_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    a, school = tree["dept_a"].id, tree["school_a1"].id
    content = (f"{HEADER}\n"
               "ZS-001,WPS Office 2019,金山办公,办公软件,按设备,\"1,000\",2026/3/1,2027年2月28日,手工登记,\n"
               "ZS-002 ,WPS Office 2019,金山办公,office,device,１０,46082,,,\n"
               f"ZS-003,统信UOS,统信软件,操作系统,按设备,5,,,预装,school_a1\n")
    dry = await upload(licenses, URL, admin, content.encode("gb18030"), org_id=a, dry_run="true")
    assert dry.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": True}, dry.text
    assert await pools(licenses, admin) == {}
    resp = await upload(licenses, URL, admin, content.encode("gb18030"), org_id=a)
    assert resp.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}, resp.text
    assert await pools(licenses, admin) == {f"{a}:WPS Office 2019": 1010, f"{school}:统信UOS": 5}
    found = await entitlements(licenses, admin)
    assert (found["ZS-001"]["valid_from"], found["ZS-001"]["valid_to"]) == (
        "2026-02-28T16:00:00Z", "2027-02-28T15:59:59Z")
    assert found["ZS-002"]["valid_from"] == "2026-02-28T16:00:00Z"  # Excel's serial 46082: 2026-03-01
    assert (found["ZS-002"]["source"], found["ZS-003"]["source"]) == ("manual", "oem")
    again = await upload(licenses, URL, admin, content.encode("utf-8"), org_id=a)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "dry_run": False}
    assert await pools(licenses, admin) == {f"{a}:WPS Office 2019": 1010, f"{school}:统信UOS": 5}
    # A registered certificate is not changed by a file.
    assert refused(await upload(licenses, URL, admin, content.replace("１０", "20"), org_id=a)) == [
        (3, "quantity", "registered")]


async def test_an_xlsx_with_english_headers_and_date_cells(licenses, tree):
    from datetime import date
    admin = tree.actor("dept_a", "it_admin")
    content = xlsx([["reference", "product_name", "vendor", "category", "metric", "quantity", "valid_from",
                     "valid_to", "org_id"],
                    ["C-1", "Kingbase", "人大金仓", "database", "concurrent", 2, date(2026, 1, 1), date(2030, 12, 31),
                     "dept_a"]])
    resp = await upload(licenses, URL, admin, content, filename="e.xlsx")
    assert resp.json()["created"] == 1, resp.text
    found = (await entitlements(licenses, admin))["C-1"]
    assert (found["metric"], found["valid_from"], found["valid_to"]) == (
        "concurrent", "2025-12-31T16:00:00Z", "2030-12-31T15:59:59Z")


async def test_every_bad_row_is_named_and_nothing_is_written(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    content = (f"{HEADER}\n"
               "R-1,WPS,金山,办公软件,按设备,10,,,,dept_a\n"
               "R-2,WPS,金山,办公软件,按设备,10,,,,dept_b\n"
               "R-1,WPS,金山,办公软件,按设备,10,,,,dept_a\n"
               "R-4,WPS,金山,游戏,按年,0,明天,2026-02-30,,dept_a\n"
               "R-5,WPS,金山,办公软件,按设备,10,2026-06-01,2026-01-01,,dept_a\n"
               "R-6,WPS,金山,办公软件,按设备,10,,2020-01-01,,dept_a\n"
               ",WPS,,办公软件,按设备,10,,,,dept_a\n")
    assert refused(await upload(licenses, URL, admin, content)) == [
        (3, "org_id", "unknown-org"), (4, "reference", "duplicate"), (5, "category", "invalid-choice"),
        (5, "metric", "invalid-choice"), (5, "quantity", "out-of-range"), (5, "valid_from", "invalid-date"),
        (5, "valid_to", "invalid-date"), (6, None, "inconsistent"), (7, "valid_to", "already-expired"),
        (8, "reference", "required"), (8, "vendor", "required")]
    english = (await upload(licenses, URL, admin, content, english=True)).json()["errors"]
    assert english[5]["message"] == "'明天' is not a date (such as 2026-03-01)"
    assert await pools(licenses, admin) == {}


async def test_bad_files_roles_and_the_template(licenses, tree, monkeypatch):
    admin = tree.actor("dept_a", "it_admin")
    good = f"{HEADER}\nX,WPS,金山,办公软件,按设备,1,,,,\n"
    assert (await upload(licenses, URL, tree.actor("dept_a", "finance"), good, org_id=tree["dept_a"].id)
            ).status_code == 403
    assert (await upload(licenses, URL, admin, good, org_id=tree["dept_b"].id)).status_code == 404
    resp = await licenses.client.get(f"{PREFIX}/entitlements:import-template.xlsx", headers=admin.headers)
    assert resp.status_code == 200 and resp.headers["content-type"] == imports.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADER.split(",")]
    await assert_bad_files_refused(licenses, URL, admin, HEADER, monkeypatch, org_id=tree["dept_a"].id)


async def test_the_same_file_imported_at_once_adds_its_seats_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    content = f"{HEADER}\n" + "".join(f"P-{i},WPS,金山,办公软件,按设备,10,,,,\n" for i in range(3))
    answers = await asyncio.gather(*(upload(licenses, URL, admin, content, org_id=tree["dept_a"].id)
                                     for _ in range(4)))
    assert sorted(a.json()["created"] for a in answers) == [0, 0, 0, 3], [a.text for a in answers]
    assert await pools(licenses, admin) == {f"{tree['dept_a'].id}:WPS": 30}
