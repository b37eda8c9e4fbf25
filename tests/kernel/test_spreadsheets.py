"""The reader of handed-in tables (kernel.spreadsheets) on what Excel users make: formulas with the
values Excel saved, failed formulas, merged cells, a title row above the header."""

from __future__ import annotations

import pytest

from kernel.spreadsheets import Column, read_table
from tests.support.imports import saved_by_excel, xlsx

COLUMNS = (Column("tag", ("资产编号", "tag")), Column("price", ("单价（元）", "price")))


def read(data: bytes):
    return read_table(data, COLUMNS, required=[("tag",)], max_rows=10)


def text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def test_a_formula_reads_as_its_saved_value_and_a_failed_one_as_its_error():
    table = read(saved_by_excel(
        f'<row r="1">{text("A1", "资产编号")}{text("B1", "单价(元)")}</row>'
        f'<row r="2">{text("A2", "A-1")}<c r="B2"><f>1+1</f><v>2</v></c></row>'
        f'<row r="4">{text("A4", "A-2")}<c r="B4" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'))
    assert table.rows == [(2, {"tag": "A-1", "price": "2"}), (4, {"tag": "A-2", "price": "#DIV/0!"})]


def test_a_title_row_is_passed_over_and_a_merged_cell_read_in_each_of_its_cells():
    table = read(xlsx([["2026年软件资产登记表"], [], ["资产编号", "单价（元）"], ["A-1", 100], [None, 200]],
                      merge="A4:A5"))
    assert table.rows == [(4, {"tag": "A-1", "price": "100"}), (5, {"tag": "A-1", "price": "200"})]


@pytest.mark.parametrize("header", [["名称", "单价（元）"], []])
def test_a_sheet_without_the_required_column_is_refused(header):
    with pytest.raises(Exception) as refused:
        read(xlsx([header, ["x", 1]]))
    assert refused.value.slug == "missing-columns"
