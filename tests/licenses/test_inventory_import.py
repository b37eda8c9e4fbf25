"""A detection tool's export imported as inventory reports: CSV in UTF-8 or GB18030 and XLSX,
English or Chinese headers, a result per row; bad files refused whole, writing nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from services.licenses.devices import imports
from tests.licenses.conftest import PREFIX, make_device

WPS_PRO = "WPS Office 2019 专业版 (11.8.2.12085)"


async def upload(svc, actor, org, content: bytes, filename: str = "scan.csv"):
    return await svc.client.post(f"{PREFIX}/inventory:import", params={"org_id": str(org.id)}, headers=actor.headers,
                                 files={"file": (filename, content, "application/octet-stream")})


async def latest(svc, actor, device) -> list[tuple]:
    resp = await svc.client.get(f"{PREFIX}/devices/{device['id']}/inventory", headers=actor.headers)
    if resp.status_code == 404:
        return []
    return sorted((s["name"], s["vendor"], s["version"]) for s in resp.json()["software"])


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_csv_replaces_each_named_devices_software_with_a_result_per_row(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    first = await make_device(licenses, admin, "I-1")
    second = await make_device(licenses, admin, "I-2", org=tree["school_a1"])
    resp = await licenses.client.post(f"{PREFIX}/devices/{first['id']}/inventory", headers=admin.headers,
                                      json={"software": [{"name": "旧软件", "category": "business"}]})
    assert resp.status_code == 200
    content = ("asset_tag,name,vendor,version,installed_on\n"
               f"I-1,{WPS_PRO},金山办公,11.8.2.12085,2026-03-01\n"
               "I-1,7-Zip 19.00 (x64),Igor Pavlov,19.00,\n"
               "I-9,WinRAR 6.02,win.rar GmbH,6.02,\n"
               "\n"
               "I-2,内部考勤工具,,,\n"
               "I-2,,,,\n"
               "I-1,WinRAR,,,yesterday\n").encode()
    resp = await upload(licenses, admin, tree["dept_a"], content)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["totals"] == {"ok": 3, "error": 3}
    rows = {r["row"]: r for r in body["rows"]}
    assert [r["row"] for r in body["rows"]] == [2, 3, 4, 6, 7, 8]
    assert rows[2] == {"row": 2, "status": "ok", "device_id": first["id"], "error": None}
    assert rows[4]["status"] == "error" and "I-9" in rows[4]["error"]
    assert rows[6]["device_id"] == second["id"]
    assert rows[7]["status"] == "error" and rows[7]["error"].startswith("name")
    assert rows[8]["status"] == "error" and rows[8]["error"].startswith("installed_on")
    # The old report's software is gone: the device's latest report is the file's rows.
    assert await latest(licenses, admin, first) == sorted([
        (WPS_PRO, "金山办公", "11.8.2.12085"), ("7-Zip 19.00 (x64)", "Igor Pavlov", "19.00")])
    software = (await licenses.client.get(f"{PREFIX}/devices/{first['id']}/inventory",
                                          headers=admin.headers)).json()["software"]
    assert all(s["title_id"] for s in software)
    assert await latest(licenses, admin, second) == [("内部考勤工具", None, None)]


async def test_gb18030_with_chinese_headers_by_host_name_and_xlsx(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "H-1")
    content = ("主机名,软件名称,厂商,版本\r\n"
               f"{device['hostname']},{WPS_PRO},金山办公,11.8\r\n").encode("gb18030")
    resp = await upload(licenses, admin, tree["dept_a"], content)
    assert resp.status_code == 200, resp.text
    assert resp.json()["totals"] == {"ok": 1, "error": 0}
    assert await latest(licenses, admin, device) == [(WPS_PRO, "金山办公", "11.8")]

    book = xlsx([["资产编号", "软件名称", "厂商", "版本"], ["H-1", "7-Zip 19.00 (x64)", "Igor Pavlov", 19.0],
                 ["H-1", "内部考勤工具", None, None]])
    resp = await upload(licenses, admin, tree["dept_a"], book, "scan.xlsx")
    assert resp.status_code == 200, resp.text
    assert resp.json()["totals"] == {"ok": 2, "error": 0}
    assert await latest(licenses, admin, device) == [("7-Zip 19.00 (x64)", "Igor Pavlov", "19"),
                                                     ("内部考勤工具", None, None)]


@pytest.mark.parametrize(("content", "status", "slug"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 415, "unsupported-file"),
    (b"PK\x03\x04 not really a workbook", 415, "unsupported-file"),
    ("asset_tag,name,vendor,version\nI-1,Caf\xe9,x,1\n".encode("latin-1") + b"\xff\xff", 422, "unknown-encoding"),
    (b"asset_tag,vendor,version\nI-1,x,1\n", 422, "missing-columns"),
    (b"name,vendor,version\nWPS,x,1\n", 422, "missing-columns"),
    (b"", 422, "empty-file"),
])
async def test_a_bad_file_is_refused_whole(licenses, tree, content, status, slug):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "I-1")
    resp = await upload(licenses, admin, tree["dept_a"], content)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["type"].endswith("/" + slug)
    assert await latest(licenses, admin, device) == []


async def test_too_many_rows_and_too_many_bytes_write_nothing(licenses, tree, monkeypatch):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "I-1")
    content = ("asset_tag,name,vendor,version\n" + "I-1,WPS Office,金山办公,11\n" * 11).encode()
    monkeypatch.setattr(imports, "MAX_ROWS", 10)
    resp = await upload(licenses, admin, tree["dept_a"], content)
    assert resp.status_code == 422 and resp.json()["type"].endswith("/too-many-rows"), resp.text
    monkeypatch.setattr(imports, "MAX_ROWS", 100)
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    resp = await upload(licenses, admin, tree["dept_a"], content)
    assert resp.status_code == 413 and resp.json()["type"].endswith("/file-too-large"), resp.text
    assert await latest(licenses, admin, device) == []


async def test_only_it_admins_of_the_org_import(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "I-1")
    content = b"asset_tag,name,vendor,version\nI-1,WPS Office,x,1\n"
    for actor, status in ((tree.actor("dept_a", "finance"), 403), (tree.actor("dept_a", "auditor"), 403),
                          (tree.actor("dept_b", "it_admin"), 404), (tree.actor("school_a1", "it_admin"), 404)):
        resp = await upload(licenses, actor, tree["dept_a"], content)
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    # An it_admin of a child org imports into its own subtree only: the parent's device is unknown there.
    resp = await upload(licenses, tree.actor("school_a1", "it_admin"), tree["school_a1"], content)
    assert resp.status_code == 200 and resp.json()["totals"] == {"ok": 0, "error": 1}
    assert await latest(licenses, admin, device) == []
    resp = await upload(licenses, tree.actor("province", "admin"), tree["dept_a"], content)
    assert resp.json()["totals"] == {"ok": 1, "error": 0}
