"""Orgs and users from a spreadsheet: a tree in one file (parents by name), a staff list with roles
in Chinese, all rows or none with every row's error, re-importing changing nothing, and an org
outside the admin's subtree read as one that does not exist."""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace

from openpyxl import load_workbook

from kernel import imports
from tests.gateway.test_accounts import bearer, tree  # noqa: F401 - the fixture
from tests.gateway.test_audit import entries
from tests.support.apps import eventually
from tests.support.imports import assert_bad_files_refused, refused, upload, xlsx

ORGS = "/api/v1/identity/orgs:import"
USERS = "/api/v1/identity/users:import"
ORG_HEADER = "单位名称,类型,上级单位"
USER_HEADER = "用户名,姓名,角色,电子邮箱,单位,初始密码"


def as_actor(headers: dict) -> SimpleNamespace:
    return SimpleNamespace(headers=headers)


async def children(gateway, headers, parent_id) -> dict[str, dict]:
    resp = await gateway.client.get("/api/v1/identity/orgs", params={"parent_id": parent_id, "limit": 200},
                                    headers=headers)
    return {org["name"]: org for org in resp.json()["items"]}


async def test_a_tree_in_one_file_is_created_once_and_bad_rows_are_named(gateway, tree):  # noqa: F811
    admin = as_actor(tree["bureau_admin"])
    bureau = tree["bureau"]["id"]
    content = (f"{ORG_HEADER}\n"
               "城区教育办,预算单位,\n"
               "城区实验小学,unit,城区教育办\n"
               f"第二中学 ,预算单位,{bureau}\n"
               "附属幼儿园,预算单位,第一中学\n")
    dry = await upload(gateway, ORGS, admin, content.encode("gb18030"), org_id=bureau, dry_run="true")
    assert dry.json() == {"created": 4, "updated": 0, "unchanged": 0, "dry_run": True}, dry.text
    resp = await upload(gateway, ORGS, admin, content.encode("gb18030"), org_id=bureau)
    assert resp.json() == {"created": 4, "updated": 0, "unchanged": 0, "dry_run": False}, resp.text
    under = await children(gateway, admin.headers, bureau)
    assert set(under) == {"第一中学", "城区教育办", "第二中学"}
    assert set(await children(gateway, admin.headers, under["城区教育办"]["id"])) == {"城区实验小学"}
    assert set(await children(gateway, admin.headers, tree["school"]["id"])) == {"附属幼儿园"}
    again = await upload(gateway, ORGS, admin, content.encode("utf-8-sig"), org_id=bureau)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 4, "dry_run": False}
    history = await gateway.client.get(f"/api/v1/identity/orgs/{under['第二中学']['id']}/history",
                                       headers=admin.headers)
    assert [e["action"] for e in history.json()["items"]] == ["created"]
    audited = await eventually(lambda: entries(gateway, admin.headers, action="orgs_imported"))
    assert {(e["method"], e["path"], e["status"]) for e in audited} == {("POST", ORGS, 200)}
    # Every bad row named, nothing written.
    content = (f"{ORG_HEADER}\n"
               "甲,预算单位,卫健委\n"  # a sibling of the admin's bureau: outside its subtree
               "乙,学校,第一中学\n"
               "第一中学,财政部门,教育局\n"  # exists under 教育局 as a unit
               "丙,预算单位,\n"
               "丁,预算单位,第一中学\n"
               "丁,unit,第一中学\n"
               f"{'长' * 201},unit,第一中学\n")
    assert refused(await upload(gateway, ORGS, admin, content)) == [
        (2, "parent_id", "unknown-org"), (3, "kind", "invalid-choice"), (4, "kind", "other-kind"),
        (5, "parent_id", "no-org"), (7, "name", "duplicate"), (8, "name", "too-long")]
    body = (await upload(gateway, ORGS, admin, content)).json()
    assert body["errors"][0]["message"] == "您的管辖范围内没有单位“卫健委”"
    assert set(await children(gateway, admin.headers, tree["school"]["id"])) == {"附属幼儿园"}


async def test_a_staff_list_with_chinese_roles_is_imported_once_then_updated_and_bad_rows_named(gateway, tree):  # noqa: F811
    admin = as_actor(tree["bureau_admin"])
    school = tree["school"]["id"]
    content = (f"{USER_HEADER}\n"
               "li.lei,李雷,预算编制、信息化管理,li@school.example,,Li-Lei-pass-2026\n"
               "han.meimei,韩梅梅,普通职工,,第一中学,\n"
               f"teacher,王老师,\"budget_editor, it_admin\",wang@school.example,{school},\n")
    resp = await upload(gateway, USERS, admin, content, org_id=school)
    assert resp.json() == {"created": 2, "updated": 1, "unchanged": 0, "dry_run": False}, resp.text
    listed = {u["username"]: u for u in (await gateway.client.get(
        "/api/v1/identity/users", params={"org_id": school}, headers=admin.headers)).json()["items"]}
    assert {name: (u["roles"], u["display_name"]) for name, u in listed.items()} == {
        "li.lei": (["budget_editor", "it_admin"], "李雷"), "han.meimei": (["staff"], "韩梅梅"),
        "teacher": (["budget_editor", "it_admin"], "王老师")}
    # The file's password signs in once and must then be changed; a user without one cannot sign in.
    signed_in = await gateway.client.post("/auth/token", data={"username": "li.lei", "password": "Li-Lei-pass-2026"})
    assert signed_in.status_code == 200, signed_in.text
    no_password = await gateway.client.post("/auth/token", data={"username": "han.meimei", "password": ""})
    assert no_password.status_code in (401, 422)
    again = await upload(gateway, USERS, admin, content, org_id=school)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "dry_run": False}
    me = (await gateway.client.get("/api/v1/identity/me", headers=await bearer(gateway.client, "teacher"))).json()
    assert me["roles"] == ["budget_editor", "it_admin"]
    # Every bad row named, nothing written.
    content = (f"{USER_HEADER}\n"
               "a.one,,校长,,第一中学,\n"
               "stranger,,staff,,第一中学,\n"  # a username of another subtree: taken, as POST /users says
               "b.two,,staff,,卫健委,\n"
               "c.three,,staff,not-an-email,第一中学,\n"
               "d.four,,staff,,第一中学,short\n"
               "d.four,,staff,,第一中学,\n"
               "e five,,staff,,第一中学,\n")
    assert refused(await upload(gateway, USERS, admin, content)) == [
        (2, "roles", "invalid-choice"), (3, "username", "username-taken"), (4, "org_id", "unknown-org"),
        (5, "email", "invalid-text"), (6, "password", "weak-password"), (7, "username", "duplicate"),
        (8, "username", "invalid-text")]
    english = (await upload(gateway, USERS, admin, content, english=True)).json()["errors"]
    assert english[0]["message"].startswith("'校长' is not one of")
    assert "d.four" not in {u["username"] for u in (await gateway.client.get(
        "/api/v1/identity/users", headers=admin.headers)).json()["items"]}


async def test_bad_files_roles_templates_and_racing_imports(gateway, tree, monkeypatch):  # noqa: F811
    admin = as_actor(tree["bureau_admin"])
    teacher = as_actor(await bearer(gateway.client, "teacher"))
    bureau = tree["bureau"]["id"]
    assert (await upload(gateway, ORGS, teacher, f"{ORG_HEADER}\n甲,unit,\n", org_id=bureau)).status_code == 403
    assert (await upload(gateway, USERS, admin, f"{USER_HEADER}\nx.y,,staff,,,\n",
                         org_id=tree["other"]["id"])).status_code == 404
    for url, header in ((ORGS, ORG_HEADER), (USERS, USER_HEADER)):
        resp = await gateway.client.get(url.replace(":import", ":import-template.xlsx"), headers=admin.headers)
        assert resp.status_code == 200 and resp.headers["content-type"] == imports.XLSX_TYPE
        sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
        assert [list(row) for row in sheet.iter_rows(values_only=True)] == [header.split(",")]
        await assert_bad_files_refused(gateway, url, admin, header, monkeypatch, org_id=bureau)
        monkeypatch.undo()
    # The same file sent at once: each org once (imports under one parent take turns).
    content = xlsx([["name", "kind", "parent_id"], ["并发一", "unit", None], ["并发二", "unit", "并发一"]])
    answers = await asyncio.gather(*(upload(gateway, ORGS, admin, content, filename="o.xlsx", org_id=bureau)
                                     for _ in range(4)))
    assert sorted(a.json()["created"] for a in answers) == [0, 0, 0, 2], [a.text for a in answers]
    assert list(await children(gateway, admin.headers, bureau)).count("并发一") == 1
    # And a staff list: each user once, the others finding them unchanged.
    staff = f"{USER_HEADER}\nrace.one,,staff,,,\nrace.two,,普通职工,,,\n"
    answers = await asyncio.gather(*(upload(gateway, USERS, admin, staff, org_id=bureau) for _ in range(4)))
    assert sorted((a.json()["created"], a.json()["unchanged"]) for a in answers) == [(0, 2)] * 3 + [(2, 0)], [
        a.text for a in answers]
