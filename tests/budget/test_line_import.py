"""Budget lines from a spreadsheet: money as people type it, Chinese or English headers, an org by
name or id, all rows or none with every row's error, re-importing changing nothing."""

from __future__ import annotations

import asyncio
import io

from openpyxl import load_workbook

from kernel import imports
from tests.budget.conftest import PREFIX
from tests.support.imports import assert_bad_files_refused, refused, upload, xlsx

URL = f"{PREFIX}/lines:import"
HEADER = "年度,类别,项目名称,数量,单价（元）,申请理由,单位"


async def lines(svc, actor) -> dict[str, dict]:
    """The lines of the actor's subtree, by title."""
    resp = await svc.client.get(f"{PREFIX}/lines", params={"limit": 200}, headers=actor.headers)
    return {line["title"]: line for line in resp.json()["items"]}


async def test_a_chinese_sheet_is_drafted_once_then_updated_while_draft(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    content = (f"{HEADER}\n"
               "2026,办公软件,WPS 正版化,\"1,200\",\"¥500.50\",,\n"
               "２０２６,杀毒软件,杀毒 ,10 , 80元 ,,school_a1\n"
               f"2026,database,数据库,2,5000,,{tree['school_a1'].id}\n")
    dry = await upload(budget, URL, editor, content.encode("gb18030"), org_id=tree["dept_a"].id, dry_run="true")
    assert dry.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": True}
    assert await lines(budget, editor) == {}
    resp = await upload(budget, URL, editor, content.encode("gb18030"), org_id=tree["dept_a"].id)
    assert resp.json() == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}, resp.text
    found = await lines(budget, editor)
    assert {t: (ln["org_id"], ln["category"], ln["quantity"], ln["unit_price_fen"], ln["status"])
            for t, ln in found.items()} == {
        "WPS 正版化": (str(tree["dept_a"].id), "office", 1200, 50050, "draft"),
        "杀毒": (str(tree["school_a1"].id), "antivirus", 10, 8000, "draft"),
        "数据库": (str(tree["school_a1"].id), "database", 2, 500000, "draft")}
    again = await upload(budget, URL, editor, content.encode("utf-8-sig"), org_id=tree["dept_a"].id)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "dry_run": False}
    # A submitted line is unchanged by the same row and refused by a changed one.
    assert (await budget.client.post(f"{PREFIX}/lines/{found['杀毒']['id']}/submit",
                                     headers=editor.headers)).status_code == 200
    changed = content.replace("1,200", "1,300").replace(" 80元 ", "90")
    assert refused(await upload(budget, URL, editor, changed, org_id=tree["dept_a"].id)) == [(3, "title", "not-draft")]
    resp = await upload(budget, URL, editor, changed.replace(",90,", ",80,"), org_id=tree["dept_a"].id)
    assert resp.json() == {"created": 0, "updated": 1, "unchanged": 2, "dry_run": False}
    line = (await lines(budget, editor))["WPS 正版化"]
    assert (line["id"], line["quantity"], line["requested_fen"]) == (found["WPS 正版化"]["id"], 1300, 1300 * 50050)
    history = await budget.client.get(f"{PREFIX}/lines/{line['id']}/history", headers=editor.headers)
    assert [e["action"] for e in history.json()["items"]] == ["created", "edited"]


async def test_an_xlsx_with_english_headers_a_title_row_merged_cells_and_fen(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    content = xlsx([["2026年软件正版化预算表"],
                    ["org_id", "fiscal_year", "category", "title", "quantity", "unit_price_fen"],
                    [str(tree["school_a1"].id), 2026, "office", "Office", 3, 40000],
                    [None, 2026, "OS", "UOS", 1, 30000.0]], merge="A3:A4")
    resp = await upload(budget, URL, editor, content, filename="l.xlsx")
    # The merged org cell is read in both rows; the OS line needs its justification.
    assert refused(resp) == [(4, "justification", "os-needs-justification")]
    content = xlsx([["org_id", "fiscal_year", "category", "title", "quantity", "unit_price_fen", "justification"],
                    [str(tree["school_a1"].id), 2026, "office", "Office", 3, 40000, None],
                    [None, 2026, "OS", "UOS", 1, 30000, "服务器专用"]], merge="A2:A3")
    resp = await upload(budget, URL, editor, content, filename="l.xlsx")
    assert resp.json()["created"] == 2, resp.text
    assert {t: ln["unit_price_fen"] for t, ln in (await lines(budget, editor)).items()} == {
        "Office": 40000, "UOS": 30000}


async def test_every_bad_row_is_named_and_nothing_is_written(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    content = (f"{HEADER}\n"
               "2026,办公软件,好,1,100,,dept_a\n"
               "2026,办公软件,未知单位,1,100,,没有这个单位\n"
               "2026,办公软件,外单位,1,100,,dept_b\n"
               "2026,办公软件,好,2,100,,dept_a\n"
               "2026,游戏,坏类别,1.5,12.345,,dept_a\n"
               "1999,办公软件,年度,0,100,,dept_a\n"
               "2026,办公软件,太贵,1,\"¥99,999\",,dept_a\n"
               "2026,办公软件,#DIV/0!,1,100,,dept_a\n"
               "2026,办公软件,无单位,1,100,,\n")
    errors = refused(await upload(budget, URL, editor, content))
    assert errors == [(3, "org_id", "unknown-org"), (4, "org_id", "unknown-org"), (5, "title", "duplicate"),
                      (6, "category", "invalid-choice"), (6, "quantity", "invalid-number"),
                      (6, "unit_price", "invalid-money"), (7, "fiscal_year", "out-of-range"),
                      (7, "quantity", "out-of-range"), (8, "unit_price", "price-above-cap"),
                      (9, "title", "formula-error"), (10, "org_id", "no-org")]
    body = (await upload(budget, URL, editor, content)).json()
    # An org outside the subtree reads as one that does not exist.
    assert body["errors"][1]["message"] == "您的管辖范围内没有单位“dept_b”"
    assert body["errors"][2]["message"] == "与第 2 行重复"
    english = (await upload(budget, URL, editor, content, english=True)).json()["errors"]
    assert english[5]["message"] == "'12.345' is not an amount in 元 (two decimals at most)"
    assert await lines(budget, editor) == {}


async def test_bad_files_roles_and_the_template(budget, tree, monkeypatch):
    editor = tree.actor("dept_a", "budget_editor")
    finance = tree.actor("dept_a", "finance")
    good = f"{HEADER}\n2026,办公软件,x,1,100,,\n"
    assert (await upload(budget, URL, finance, good, org_id=tree["dept_a"].id)).status_code == 403
    assert (await upload(budget, URL, editor, good, org_id=tree["dept_b"].id)).status_code == 404
    resp = await budget.client.get(f"{PREFIX}/lines:import-template.xlsx", headers=editor.headers)
    assert resp.status_code == 200 and resp.headers["content-type"] == imports.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["年度", "类别", "版本", "项目名称", "数量", "单价（元）", "申请理由", "单位"]]
    await assert_bad_files_refused(budget, URL, editor, HEADER, monkeypatch, org_id=tree["dept_a"].id)


async def test_the_same_file_imported_at_once_drafts_each_line_once(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    content = f"{HEADER}\n" + "".join(f"2026,办公软件,项目{i},1,100,,\n" for i in range(5))
    answers = await asyncio.gather(*(upload(budget, URL, editor, content, org_id=tree["dept_a"].id) for _ in range(4)))
    assert sorted(a.json()["created"] for a in answers) == [0, 0, 0, 5], [a.text for a in answers]
    assert len(await lines(budget, editor)) == 5
