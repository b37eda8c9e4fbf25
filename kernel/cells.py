"""A spreadsheet cell's text read as what its writer meant (SPEC, "Data in and out"): the one
place every import turns cells into numbers, money, dates and codes.

People type numbers with thousands separators (1,200), money with its sign (¥1,200.50, 1200元),
digits in full width from a Chinese input method (１２００), and dates as 2026-03-01, 2026/3/1 or
2026年3月1日, or leave them as the serial number Excel keeps (46082). Each reader takes the cell's
text (kernel.spreadsheets gives every cell as text) and answers the value, or raises CellError
with the row error's code (kernel.imports.MESSAGES) and what its message names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from kernel.contracts import CATEGORY_WORDS

CHINA = timezone(timedelta(hours=8))  # a date in a sheet is a day in Beijing
# What Excel shows in a cell whose formula failed; calamine reads them as this text.
FORMULA_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!"})
# Excel's day 0 (its serial numbers count from here, with 1900's false leap day folded in).
EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers of 1950-01-01 .. 2100-12-31: a plain number outside is not taken for a date.
SERIALS = range(18264, 73415)
MONEY_SIGNS = re.compile(r"^(?:¥|￥|RMB|CNY)|(?:元|RMB|CNY)$", re.IGNORECASE)
SEPARATORS = re.compile(r"(?<=\d)[,\s](?=\d{3}(?:\D|$))")
DATE_TEXT = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?$")


class CellError(ValueError):
    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code, self.params = code, params


def text(value: str | None) -> str | None:
    """Full-width letters and digits (ＰＣ－００１) as their ASCII forms, surrounding spaces
    (full-width ones too) gone; an empty cell is None. A failed formula's cell is a CellError."""
    if value is None:
        return None
    value = unicodedata.normalize("NFKC", value).strip()
    if value in FORMULA_ERRORS:
        raise CellError("formula-error", value=value)
    return value or None


def _plain(value: str) -> str:
    return SEPARATORS.sub("", value.replace("，", ","))


def whole_number(value: str) -> int:
    """1200, 1,200, １，２００ or 1200.00 (a number cell) as 1200."""
    try:
        number = Decimal(_plain(value))
    except InvalidOperation:
        raise CellError("invalid-number", value=value) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise CellError("invalid-number", value=value)
    return int(number)


def fen(value: str) -> int:
    """元 as integer fen, never through a float: ¥1,200.50, 1200.5元, RMB 1200 → 120050, 120050, 120000."""
    plain = MONEY_SIGNS.sub("", _plain(value)).strip()
    plain = MONEY_SIGNS.sub("", plain).strip()  # a sign on both ends: ¥1200元
    try:
        yuan = Decimal(plain)
    except InvalidOperation:
        raise CellError("invalid-money", value=value) from None
    if not yuan.is_finite() or (yuan * 100) != (yuan * 100).to_integral_value():
        raise CellError("invalid-money", value=value)  # not a number, or past the fen
    return int(yuan * 100)


def day(value: str) -> date:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 2026-03-01T00:00:00 (a date-and-time cell) or
    Excel's serial number 46082."""
    found = DATE_TEXT.match(value) or DATE_TEXT.match(value.split("T", 1)[0].split(" ", 1)[0])
    try:
        if found:
            return date(*(int(part) for part in found.groups()))
        serial = whole_number(value)
    except (ValueError, CellError):
        raise CellError("invalid-date", value=value) from None
    if serial not in SERIALS:
        raise CellError("invalid-date", value=value)
    return EXCEL_EPOCH + timedelta(days=serial)


def day_start(value: str) -> datetime:
    """A date as the first moment of that day in Beijing (a term that starts on it)."""
    return datetime.combine(day(value), time(), CHINA)


def day_end(value: str) -> datetime:
    """A date as the last second of that day in Beijing (a term that runs through it)."""
    return datetime.combine(day(value), time(23, 59, 59), CHINA)


def category(value: str) -> str:
    """A software category by its Chinese word (办公软件) or its code (office)."""
    return _CATEGORY(value)


def choice(words: Mapping[str, str], shown: str) -> Callable[[str], str]:
    """A reader of one of a set of codes, by the code (any case) or one of its Chinese words
    (`words`: word → code); `shown` is how the error lists the choices."""
    lowered = {word.lower(): code for word, code in words.items()}

    def read(value: str) -> str:
        code = lowered.get(value.lower())
        if code is None:
            raise CellError("invalid-choice", value=value, choices=shown)
        return code
    return read


_CATEGORY = choice(CATEGORY_WORDS, "操作系统/办公软件/杀毒软件/数据库/工业设计/业务软件/其他")
