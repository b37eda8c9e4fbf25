"""Spreadsheets in and out of the console, in real headless Chromium against the real processes: a
register of devices checked first and refused with every row's error in a table (nothing written),
then a good one checked and imported with its counts, and a list downloaded as Excel with the
filter it shows. Screenshots for docs/console/."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from gateway.console.i18n import IMPORT_COLUMNS
from tests.console.conftest import accessible, shoot, sign_in, username

pytestmark = pytest.mark.slow
HEADERS = ["资产编号", "主机名", "类型", "操作系统", "使用人", "单位"]


def sheet_rows(path) -> list[tuple]:
    """A downloaded workbook's rows (Chromium saves a download without its name's suffix)."""
    with open(path, "rb") as file:
        return list(load_workbook(io.BytesIO(file.read()), read_only=True).active.iter_rows(values_only=True))


def workbook(path, rows) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return str(path)


def test_a_register_with_bad_rows_shows_each_error_then_a_good_one_is_checked_and_imported(page, demo, tmp_path):
    # 第一电厂 is outside the province, whose compliance figures the other console tests read.
    demo.user("plant", "it_admin", label="第一电厂 信息中心")
    plant, elsewhere, tag = demo.org_id("plant"), demo.org_id("school_1"), demo.made.tag
    bad = workbook(tmp_path / "登记造册（有误）.xlsx", [
        [f"PLANT-{tag}-1", "plant-pc-1", "台式机", "统信 UOS 20", None, None],
        [f"PLANT-{tag}-2", None, "笔记本", None, None, None],
        [f"PLANT-{tag}-3", "plant-pc-3", "平板", None, None, None],
        [f"PLANT-{tag}-1", "plant-pc-1b", "台式机", None, None, None],
        [f"PLANT-{tag}-4", "plant-pc-4", "服务器", None, None, elsewhere],
    ])
    sign_in(page, username(demo, "plant", "it_admin"))
    page.goto("/console/imports")
    page.get_by_role("link", name="导入设备（登记造册）").click()
    with page.expect_download() as template:
        page.get_by_role("link", name="下载模板（Excel）").click()
    assert template.value.suggested_filename == "devices-import-template.xlsx"
    assert list(sheet_rows(template.value.path())[0]) == HEADERS

    page.get_by_label("单位").select_option(plant)
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(bad)
    page.get_by_role("button", name="预检（不写入）").click()
    page.wait_for_selector("#row-errors")
    assert page.locator('[data-figure="errors"]').inner_text() == "4"
    rows = [r.split("\t") for r in page.locator("#row-errors tbody tr").all_inner_texts()]
    assert [(r[0], r[1], r[2]) for r in rows] == [("3", "主机名", "required"), ("4", "类型", "invalid-choice"),
                                                  ("5", "资产编号", "duplicate"), ("6", "单位", "unknown-org")]
    assert rows[0][3] == "必填项为空" and rows[2][3] == "与第 2 行重复"
    assert "平板" in rows[1][3] and "您的管辖范围内没有单位" in rows[3][3]  # never whether the org exists
    assert accessible(page) == []
    shoot(page, "import-errors")
    # Importing the same file (not only checking it) is refused the same way: nothing is written.
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(bad)
    page.get_by_role("button", name="导入", exact=True).click()
    assert page.locator('[data-figure="errors"]').inner_text() == "4"
    assert demo.admin.all("/api/v1/licenses/devices", org_id=plant) == []

    good = workbook(tmp_path / "登记造册.xlsx", [
        [f"PLANT-{tag}-1", "plant-pc-1", "台式机", "统信 UOS 20", None, None],
        [f"PLANT-{tag}-2", "plant-pc-2", "笔记本", None, None, None],
        [f"PLANT-{tag}-3", "plant-srv-3", "服务器", "麒麟 V10", None, plant],
    ])
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(good)
    page.get_by_role("button", name="预检（不写入）").click()
    page.wait_for_selector("#counts")
    assert "预检通过，尚未写入任何数据" in page.locator("main").inner_text()
    assert page.locator('[data-figure="created"]').inner_text() == "3"
    assert demo.admin.all("/api/v1/licenses/devices", org_id=plant) == []
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(good)
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_selector("#counts")
    assert "导入完成" in page.locator("#result").inner_text()
    assert [page.locator(f'[data-figure="{n}"]').inner_text() for n in ("created", "updated", "unchanged")] \
        == ["3", "0", "0"]
    assert accessible(page) == []
    shoot(page, "import-devices")
    registered = {d["asset_tag"]: d for d in demo.admin.all("/api/v1/licenses/devices", org_id=plant)}
    assert sorted(registered) == [f"PLANT-{tag}-{n}" for n in (1, 2, 3)]
    assert registered[f"PLANT-{tag}-3"]["kind"] == "server" and registered[f"PLANT-{tag}-3"]["os_name"] == "麒麟 V10"
    # The same file again changes nothing.
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(good)
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_selector("#counts")
    assert page.locator('[data-figure="unchanged"]').inner_text() == "3"


def test_a_list_downloads_with_the_filter_it_shows(page, demo):
    auditor = demo.user("finance", "auditor", label="省财政厅 审计（只读）")
    sign_in(page, username(demo, "finance", "auditor"))
    page.goto("/console/orders?status=delivered")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel").click()
    assert download.value.suggested_filename == "orders.xlsx"
    rows = sheet_rows(download.value.path())
    header, body = rows[0], rows[1:]
    assert {"订单编号", "状态", "单位名称", "金额（元）"} <= set(header)
    delivered = auditor.all("/api/v1/procurement/orders", status="delivered")
    assert len(delivered) >= 3 and len(delivered) < len(auditor.all("/api/v1/procurement/orders"))
    assert sorted(r[header.index("订单编号")] for r in body) == sorted(o["id"] for o in delivered)
    assert {r[header.index("状态")] for r in body} == {"delivered"}
    assert "省第一中学" in {r[header.index("单位名称")] for r in body}
    # A page without a filter: every row the reader may see, as CSV with the byte order mark Excel wants.
    page.goto("/console/pools")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    with open(download.value.path(), encoding="utf-8") as file:
        text = file.read()
    assert text.startswith("\ufeff")
    pools = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(pools) - 1 == len(auditor.all("/api/v1/licenses/pools")) > 0


def test_each_kind_has_its_page_and_template_for_those_who_may_import_it(page, demo, stack, tmp_path):
    sign_in(page, "admin", stack.admin_password)
    page.goto("/console/imports")
    kinds = page.locator("#kinds h2").all_inner_texts()
    assert kinds == ["导入设备（登记造册）", "导入授权（存量证书）", "导入预算项目", "导入单位", "导入用户", "清单导入"]
    for kind in IMPORT_COLUMNS:
        page.goto(f"/console/imports/{kind}")
        assert accessible(page) == [], kind
        with page.expect_download() as template:
            page.get_by_role("link", name="下载模板（Excel）").click()
        assert template.value.suggested_filename == f"{kind}-import-template.xlsx"
        assert set(sheet_rows(template.value.path())[0]) == set(IMPORT_COLUMNS[kind].values()), kind
    assert page.get_by_text("上级单位").count() == 0  # the users' page: the file's org is their org
    page.goto("/console/imports/orgs")
    assert page.get_by_label("上级单位").count() == 1
    # A budget editor is offered the lines only, and reads a bad amount's error under its Chinese header.
    sign_in(page, username(demo, "school_1", "budget_editor", "procurement"))
    page.goto("/console/imports")
    assert page.locator("#kinds h2").all_inner_texts() == ["导入预算项目"]
    lines = tmp_path / "预算.csv"
    lines.write_text("年度,类别,项目名称,数量,单价（元）\n2026,办公软件,办公软件补充,2,\"¥1,200.345\"\n",
                     encoding="gb18030")
    page.goto("/console/imports/lines")
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(str(lines))
    page.get_by_role("button", name="预检（不写入）").click()
    row = page.locator("#row-errors tbody tr").inner_text().split("\t")
    assert (row[0], row[1], row[2]) == ("2", "单价（元）", "invalid-money") and "最多两位小数" in row[3]
    assert page.get_by_role("link", name="导入用户").count() == 0
    assert page.goto("/console/imports/nothing").status == 404
