"""Budget lists as spreadsheets: the list's rows and visibility, Chinese headers (English on
request), 元 with two decimals, Beijing time, the org's name beside its id."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.budget.conftest import PREFIX, approved_line, draft_line


def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith("\ufeff".encode())  # Excel reads the Chinese with it
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


async def test_lines_export_has_every_visible_line_in_yuan_and_beijing_time(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    approved = await approved_line(budget, tree, quantity=3, unit_price_fen=12_345)
    draft = await draft_line(budget, editor, quantity=1, unit_price_fen=50_001)
    await draft_line(budget, tree.actor("dept_b", "budget_editor"))  # a sibling's: not the reader's

    rows = read_csv(await budget.client.get(f"{PREFIX}/lines.csv", headers=editor.headers))
    head, body = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert head[:4] == ["预算项目编号", "单位编号", "单位名称", "年度"]
    assert set(body) == {approved["id"], draft["id"]}
    line = body[approved["id"]]
    assert (line["单价（元）"], line["批复金额（元）"], line["可用金额（元）"]) == ("123.45", "370.35", "370.35")
    assert line["单位名称"] == tree.orgs["dept_a"].name and line["状态"] == "approved"
    assert body[draft["id"]]["批复金额（元）"] == "0.00" and body[draft["id"]]["单价（元）"] == "500.01"
    # Beijing time: eight hours ahead of the UTC the API answers.
    assert line["创建时间"][11:13] == f"{(int(approved['created_at'][11:13]) + 8) % 24:02d}"

    filtered = read_csv(await budget.client.get(f"{PREFIX}/lines.csv?status=draft", headers=editor.headers))
    assert [row[0] for row in filtered[1:]] == [draft["id"]]
    english = read_csv(await budget.client.get(f"{PREFIX}/lines.csv", headers={**editor.headers,
                                                                                "Accept-Language": "en"}))
    assert english[0][:4] == ["Line id", "Org id", "Org name", "Fiscal year"]


async def test_lines_xlsx_and_the_ledger_and_summary_exports(budget, tree):
    finance = tree.actor("province", "finance")
    line = await approved_line(budget, tree, quantity=2, unit_price_fen=50_000)
    resp = await budget.client.get(f"{PREFIX}/lines.xlsx", headers=finance.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "预算项目编号" and [row[0] for row in values[1:]] == [line["id"]]

    ledger = read_csv(await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries.csv", headers=finance.headers))
    assert ledger[0][:3] == ["时间", "类型", "金额（元）"]
    assert [row[1:3] for row in ledger[1:]] == [["approve", "1000.00"]]

    summary = read_csv(await budget.client.get(
        f"{PREFIX}/summary.csv?org_id={tree.orgs['province'].id}&fiscal_year=2026", headers=finance.headers))
    assert summary[0][:3] == ["单位", "类别", "项目数"]
    assert summary[-1][:3] == [tree.orgs["province"].name, "all", "1"] and summary[-1][4] == "1000.00"


async def test_an_export_refuses_what_the_list_refuses(budget, tree):
    stranger = tree.actor("dept_b", "budget_editor")
    line = await approved_line(budget, tree)
    resp = await budget.client.get(f"{PREFIX}/lines/{line['id']}/entries.csv", headers=stranger.headers)
    assert resp.status_code == 404 and resp.headers["content-type"] == "application/problem+json"
    resp = await budget.client.get(f"{PREFIX}/lines.csv?fiscal_year=1800", headers=stranger.headers)
    assert resp.status_code == 422
    assert (await budget.client.get(f"{PREFIX}/lines.xlsx")).status_code == 401
