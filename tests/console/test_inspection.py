"""核查 in the console, in real headless Chromium against the real processes: the catalogue searched
and a pattern added (a bad one refused in words), the unrecognized queue with a name mapped to a new title
in one action and gone from the queue after re-recognition, a detection tool's export imported with a
result per row, and compliance by title with its chart. Screenshots for docs/console/."""

from __future__ import annotations

import time

import pytest

from tests.console.conftest import accessible, shoot, sign_in, username

pytestmark = pytest.mark.slow


def it_admin(demo) -> str:
    return username(demo, "school_2", "it_admin")


def test_the_catalogue_is_searched_and_a_pattern_added_with_a_bad_one_refused(page, demo):
    sign_in(page, it_admin(demo))
    assert "软件目录" in page.locator("header nav").inner_text()
    page.goto("/console/catalogue")
    page.get_by_label("按厂商或名称查找").fill("WPS")
    page.get_by_role("button", name="查看").click()
    rows = page.locator("#titles tbody").inner_text()
    assert "WPS Office 2019 专业版" in rows and "商业授权" in rows and "仅个人免费" in rows
    assert "commercial" not in rows and "personal_free" not in rows
    assert accessible(page) == []
    shoot(page, "catalogue")
    page.get_by_role("link", name="WPS Office 2019 专业版").click()
    assert "金山办公" in page.locator("main").inner_text()
    page.get_by_label("识别规则（正则表达式）").fill(".*")
    page.get_by_role("button", name="添加识别规则").click()
    assert "识别规则无效" in page.locator(".alert.error").inner_text()
    page.get_by_label("识别规则（正则表达式）").fill(r"^wps office 2019 专业版 定制$")
    page.get_by_role("button", name="添加识别规则").click()
    page.wait_for_selector(".alert.ok")
    assert r"^wps office 2019 专业版 定制$" in page.locator("#patterns").inner_text()
    history = page.locator("main table").last.inner_text()
    assert "添加识别规则" in history and it_admin(demo) in history
    assert accessible(page) == []


def test_a_raw_name_is_mapped_to_a_new_title_and_leaves_the_queue(page, demo):
    sign_in(page, it_admin(demo))
    org = demo.made.inspection["org_id"]
    page.goto(f"/console/inventory/unrecognized?org_id={org}")
    queue = page.locator("#unrecognized tbody").inner_text()
    # The unit's own tools wait here; updates, runtimes and recognized titles do not.
    assert "某市财政局预算一体化客户端" in queue and "公文处理系统客户端" in queue
    assert "Redistributable" not in queue and "KB5002700" not in queue and "WinRAR" not in queue
    assert accessible(page) == []
    shoot(page, "unrecognized")
    # A title of the unit's own, made on the catalogue page, then the queue's name mapped to it.
    page.goto("/console/catalogue")
    page.get_by_label("厂商", exact=True).fill("信息中心")
    page.get_by_label("软件名称", exact=True).fill("公文处理系统")
    page.locator("#new_category").select_option("business")
    page.locator("#new_licensing").select_option("free")
    page.get_by_role("button", name="创建").click()
    page.wait_for_selector(".alert.ok")
    page.goto(f"/console/inventory/unrecognized?org_id={org}")
    row = page.locator("#unrecognized tr", has_text="公文处理系统客户端")
    row.get_by_role("link", name="其他软件…").click()
    assert "公文处理系统客户端" in page.locator("#mapping").inner_text()
    page.get_by_label("按厂商或名称查找").fill("公文处理系统")
    page.get_by_role("button", name="查看").click()
    page.get_by_role("button", name="归入软件 公文处理系统").click()
    assert "一分钟内重新识别" in page.locator(".alert.ok").inner_text()
    assert "/console/inventory/unrecognized" in page.url
    deadline = time.monotonic() + 90
    while "公文处理系统客户端" in page.locator("#unrecognized tbody").inner_text():
        assert time.monotonic() < deadline, "the mapped name is still unrecognized after 90 s"
        page.wait_for_timeout(2000)
        page.reload()
    assert "某市财政局预算一体化客户端" in page.locator("#unrecognized tbody").inner_text()


def test_a_detection_tools_export_is_imported_with_a_result_per_row(page, demo, tmp_path):
    org = demo.made.inspection["org_id"]
    admin = demo.user("school_2", "it_admin", label="省实验中学 信息中心")
    admin.post("/api/v1/licenses/devices", {"org_id": org, "asset_tag": "SCHOOL_2-IMPORT", "hostname": "import-pc",
                                            "kind": "laptop"})
    export = tmp_path / "检测结果.csv"
    export.write_text("资产编号,软件名称,厂商,版本\n"
                      "SCHOOL_2-IMPORT,WPS Office 2019 专业版 (11.8.2.12085),金山办公,11.8.2.12085\n"
                      "SCHOOL_2-IMPORT,统信桌面操作系统V20专业版,统信软件,20\n"
                      "NO-SUCH-PC,7-Zip 23.01 (x64),Igor Pavlov,23.01\n", encoding="utf-8")
    sign_in(page, it_admin(demo))
    # A file that is not an export is refused whole, in words.
    picture = tmp_path / "截图.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page.goto("/console/inventory/import")
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(str(picture))
    page.get_by_role("button", name="导入").click()
    assert "既不是 CSV 也不是 Excel" in page.locator(".alert.error").inner_text()
    page.goto("/console/inventory/import")
    page.get_by_label("单位").select_option(org)
    page.get_by_label("文件（CSV 或 Excel）").set_input_files(str(export))
    page.get_by_role("button", name="导入").click()
    page.wait_for_selector("#rows")
    assert page.locator('[data-figure="ok"]').inner_text() == "2"
    assert page.locator('[data-figure="error"]').inner_text() == "1"
    rows = page.locator("#rows tbody tr")
    assert rows.count() == 3
    assert "SCHOOL_2-IMPORT" in rows.nth(0).inner_text() and "成功" in rows.nth(0).inner_text()
    assert "有误" in rows.nth(2).inner_text() and "没有资产编号为 NO-SUCH-PC 的设备" in rows.nth(2).inner_text()
    assert accessible(page) == []
    shoot(page, "inventory-import")


def test_compliance_by_title_shows_the_license_position_and_a_chart(page, demo):
    sign_in(page, it_admin(demo))
    page.goto(f"/console/compliance?org_id={demo.made.inspection['org_id']}")
    titles = page.locator("#titles tbody").inner_text()
    assert "Office 2016" in titles and "WinRAR" in titles and "7-Zip" in titles
    office = page.locator("#titles tr", has_text="Office 2016").inner_text().split("\t")
    assert office[5].strip() != "0"  # installed beside a WPS seat, it is non-genuine
    assert page.locator("svg[aria-labelledby='tp-t tp-d']").count() == 1
    assert accessible(page) == []
    shoot(page, "compliance-titles")


def test_an_auditor_reads_the_catalogue_and_queue_without_buttons(page, demo):
    sign_in(page, username(demo, "finance", "auditor"))
    page.goto("/console/catalogue?q=WinRAR")
    assert "WinRAR" in page.locator("#titles").inner_text()
    assert page.get_by_role("button", name="创建").count() == 0
    page.goto(f"/console/inventory/unrecognized?org_id={demo.made.inspection['org_id']}")
    assert page.get_by_role("button", name="归入").count() == 0
    assert page.goto("/console/inventory/import").status == 200
    assert page.get_by_role("button", name="导入").count() == 0  # the API would refuse it: no form
    assert accessible(page) == []
