"""Devices registered from a spreadsheet: CSV (UTF-8, GB18030) or XLSX, Chinese or English
headers, all rows or none with every row's error, re-importing the same file changing nothing."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from kernel import imports
from tests.licenses.conftest import PREFIX, make_device
from tests.licenses.test_inventory_import import xlsx

URL = f"{PREFIX}/devices:import"


async def upload(svc, actor, content: bytes, *, org=None, filename: str = "devices.csv", **params):
    if org is not None:
        params["org_id"] = str(org.id)
    return await svc.client.post(URL, params=params, headers=actor.headers,
                                 files={"file": (filename, content, "application/octet-stream")})


async def devices(svc, actor, org) -> dict[str, dict]:
    resp = await svc.client.get(f"{PREFIX}/devices", params={"org_id": str(org.id), "limit": 200},
                                headers=actor.headers)
    return {d["asset_tag"]: d for d in resp.json()["items"]}


def refused(resp) -> list[dict]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"].endswith("/invalid-rows") and body["status"] == 422
    return body["errors"]


async def test_a_chinese_register_is_imported_once_and_reimporting_it_changes_nothing(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    content = ("资产编号,主机名,类型,操作系统,使用人\n"
               "ZB-001,jw-pc-01,台式机,Windows 10,张三\n"
               "ZB-002,jw-nb-02,笔记本,,\n"
               "ZB-003,jw-srv,服务器,统信UOS,\n").encode("gb18030")
    resp = await upload(licenses, admin, content, org=tree["dept_a"])
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}
    found = await devices(licenses, admin, tree["dept_a"])
    assert {tag: (d["hostname"], d["kind"], d["os_name"], d["owner"]) for tag, d in found.items()} == {
        "ZB-001": ("jw-pc-01", "desktop", "Windows 10", "张三"), "ZB-002": ("jw-nb-02", "laptop", None, None),
        "ZB-003": ("jw-srv", "server", "统信UOS", None)}
    again = await upload(licenses, admin, content, org=tree["dept_a"])
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "dry_run": False}
    assert await devices(licenses, admin, tree["dept_a"]) == found
    history = await licenses.client.get(f"{PREFIX}/devices/{found['ZB-001']['id']}/history", headers=admin.headers)
    assert [e["action"] for e in history.json()["items"]] == ["registered"]


async def test_an_xlsx_with_english_headers_and_an_org_column_updates_and_creates(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    kept = await make_device(licenses, admin, "K-1")
    changed = await make_device(licenses, admin, "K-2", org=tree["school_a1"])
    content = xlsx([["asset_tag", "hostname", "kind", "os_name", "owner", "org_id"],
                    ["K-1", kept["hostname"], "desktop", None, None, str(tree["dept_a"].id)],
                    ["K-2", "renamed", "laptop", "麒麟", "李四", str(tree["school_a1"].id)],
                    ["K-3", "new-one", "Server", None, None, str(tree["school_a1"].id)]])
    dry = await upload(licenses, admin, content, filename="d.xlsx", dry_run="true")
    assert dry.json() == {"created": 1, "updated": 1, "unchanged": 1, "dry_run": True}
    assert set(await devices(licenses, admin, tree["school_a1"])) == {"K-2"}
    resp = await upload(licenses, admin, content, filename="d.xlsx")
    assert resp.json() == {"created": 1, "updated": 1, "unchanged": 1, "dry_run": False}
    found = await devices(licenses, admin, tree["school_a1"])
    assert (found["K-2"]["id"], found["K-2"]["hostname"], found["K-2"]["kind"], found["K-2"]["owner"]) == (
        changed["id"], "renamed", "laptop", "李四")
    assert found["K-3"]["kind"] == "server"


async def test_every_bad_row_is_named_and_nothing_is_written(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    stranger_org = tree["dept_b"]
    content = ("资产编号,主机名,类型,单位\n"
               f"B-1,ok-host,台式机,{tree['dept_a'].id}\n"
               f"B-2,,平板,{tree['dept_a'].id}\n"
               f"B-3,h3,台式机,{stranger_org.id}\n"
               "B-4,h4,台式机,00000000-0000-7000-8000-000000000000\n"
               f"B-1,dup-host,台式机,{tree['dept_a'].id}\n"
               f"{'X' * 101},h6,台式机,{tree['dept_a'].id}\n"
               "B-7,h7,台式机,\n").encode()
    errors = refused(await upload(licenses, admin, content))
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        (3, "hostname", "required"), (3, "kind", "invalid-choice"),
        (4, "org_id", "unknown-org"), (5, "org_id", "unknown-org"),
        (6, "asset_tag", "duplicate"), (7, "asset_tag", "too-long"), (8, "org_id", "no-org")]
    # An org outside the subtree reads as one that does not exist.
    assert errors[2]["message"] == f"您的管辖范围内没有单位“{stranger_org.id}”"
    assert errors[4]["message"] == "与第 2 行重复"
    english = refused(await licenses.client.post(
        URL, headers={**admin.headers, "Accept-Language": "en"}, files={"file": ("d.csv", content, "text/csv")}))
    assert english[4]["message"] == "repeats row 2"
    assert english[5]["message"] == "longer than 100 characters"
    assert await devices(licenses, admin, tree["dept_a"]) == {}


async def test_full_width_text_and_spaces_read_as_meant(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    content = "资产编号,主机名,类型\nＺＢ－００７　 ,  host-7  ,  笔记本 \n".encode("utf-8-sig")
    resp = await upload(licenses, admin, content, org=tree["dept_a"])
    assert resp.json()["created"] == 1, resp.text
    assert (await devices(licenses, admin, tree["dept_a"]))["ZB-007"]["hostname"] == "host-7"


async def test_bad_files_are_refused_whole(licenses, tree, monkeypatch):
    admin = tree.actor("dept_a", "it_admin")
    empty = await upload(licenses, admin, b"", org=tree["dept_a"])
    assert empty.status_code == 422 and empty.json()["type"].endswith("/empty-file")
    only_headers = await upload(licenses, admin, "资产编号,主机名,类型\n".encode(), org=tree["dept_a"])
    assert only_headers.status_code == 422 and only_headers.json()["type"].endswith("/empty-file")
    missing = await upload(licenses, admin, b"asset_tag,kind\nA,desktop\n", org=tree["dept_a"])
    assert missing.status_code == 422 and missing.json()["type"].endswith("/missing-columns")
    renamed = await upload(licenses, admin, b"%PDF-1.7\n\x00\x01binary", org=tree["dept_a"], filename="d.xlsx")
    assert renamed.status_code == 415 and renamed.json()["type"].endswith("/unsupported-file")
    broken_zip = await upload(licenses, admin, b"PK\x03\x04not really a workbook", org=tree["dept_a"],
                              filename="d.xlsx")
    assert broken_zip.status_code == 415, broken_zip.text
    monkeypatch.setattr("kernel.imports.MAX_BYTES", 1000)
    large = await upload(licenses, admin, b"asset_tag,hostname,kind\n" + b"A,h,desktop\n" * 200, org=tree["dept_a"])
    assert large.status_code == 413 and large.json()["type"].endswith("/file-too-large")
    assert await devices(licenses, admin, tree["dept_a"]) == {}


async def test_only_it_admins_import_and_a_foreign_org_is_not_found(licenses, tree):
    content = b"asset_tag,hostname,kind\nA-1,h,desktop\n"
    finance = tree.actor("dept_a", "finance")
    assert (await upload(licenses, finance, content, org=tree["dept_a"])).status_code == 403
    assert (await upload(licenses, finance, content)).status_code == 403
    admin = tree.actor("dept_a", "it_admin")
    assert (await upload(licenses, admin, content, org=tree["dept_b"])).status_code == 404


async def test_the_template_has_the_chinese_headers(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    resp = await licenses.client.get(f"{PREFIX}/devices:import-template.xlsx", headers=admin.headers)
    assert resp.status_code == 200 and resp.headers["content-type"] == imports.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["资产编号", "主机名", "类型", "操作系统", "使用人", "单位"]]
