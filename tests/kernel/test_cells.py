"""Cells read as their writer meant them (kernel.cells): numbers, money, dates and choices as people
type them into a spreadsheet, and what does not read as the row error's code."""

from __future__ import annotations

from datetime import date

import pytest

from kernel import cells


@pytest.mark.parametrize(("typed", "fen"), [
    ("¥1,200.50", 120050), ("1200.5元", 120050), ("RMB 1200", 120000), ("￥１，２００", 120000),
    ("1,234,567.89", 123456789), ("¥1200元", 120000), ("0.01", 1), ("1 200", 120000)])
def test_money_reads_as_fen(typed, fen):
    assert cells.fen(cells.text(typed)) == fen


@pytest.mark.parametrize(("typed", "meant"), [
    ("2026-03-01", date(2026, 3, 1)), ("2026/3/1", date(2026, 3, 1)), ("2026年3月1日", date(2026, 3, 1)),
    ("2026.3.1", date(2026, 3, 1)), ("46082", date(2026, 3, 1)), ("2026-03-01T00:00:00", date(2026, 3, 1)),
    ("２０２６年３月１日", date(2026, 3, 1))])
def test_dates_read_as_text_or_excel_serials(typed, meant):
    assert cells.day(cells.text(typed)) == meant


@pytest.mark.parametrize(("reader", "typed", "code"), [
    (cells.fen, "12.345", "invalid-money"), (cells.fen, "一千", "invalid-money"), (cells.fen, "1,2", "invalid-money"),
    (cells.whole_number, "1.5", "invalid-number"), (cells.whole_number, "ten", "invalid-number"),
    (cells.day, "2026-13-01", "invalid-date"), (cells.day, "12", "invalid-date"), (cells.day, "soon", "invalid-date"),
    (cells.choice({"是": "yes"}, "是"), "maybe", "invalid-choice")])
def test_what_does_not_read_is_named(reader, typed, code):
    with pytest.raises(cells.CellError) as caught:
        reader(typed)
    assert caught.value.code == code and caught.value.params["value"] == typed


def test_text_is_trimmed_narrowed_and_a_failed_formula_is_an_error():
    assert cells.text("  ＰＣ－００１　 ") == "PC-001"
    assert cells.text("   ") is None
    assert cells.whole_number(cells.text("１，２００ ")) == 1200
    with pytest.raises(cells.CellError) as caught:
        cells.text("#DIV/0!")
    assert caught.value.code == "formula-error"
