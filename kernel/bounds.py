"""The values the API accepts, each bounded by the column that keeps it and by sense.

Every request schema and query parameter of the gateway and the three services takes its numbers,
times and texts from here, so a value no column can hold (2^63, 10^30), a time without a zone, a
NaN or a NUL byte answers 422 at the edge instead of failing in the database as a 500.

The money bounds are chosen so that every product the code forms fits a BIGINT (< 2^63 ≈ 9.2e18):
a line's or an order's amount is a quantity times a unit price, at most 1e7 × 1e10 = 1e17.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, StringConstraints

BIGINT_MAX = 2**63 - 1

QUANTITY_MAX = 10_000_000  # seats or units in one line, demand or order
UNIT_PRICE_FEN_MAX = 10_000_000_000  # 100 million yuan for one unit of software
FEN_MAX = QUANTITY_MAX * UNIT_PRICE_FEN_MAX  # the largest amount one line or order can come to
SEATS_MAX = 10_000_000_000  # seats in one entitlement, pool or transfer
# What a running total (a line's adjusted or spent money, a pool's seats) may reach: small enough
# that adding one more bounded amount, or summing a line's five counters, still fits a BIGINT
# (5 × 2^60 < 2^63). A change that would carry a total past it is 422, checked in the same
# conditional UPDATE that makes the change, before PostgreSQL's BIGINT overflows (a 500) or
# SQLite's integer silently turns into a float.
RUNNING_TOTAL_MAX = 2**60

# Whole numbers
Quantity = Annotated[int, Interval(gt=0, le=QUANTITY_MAX)]
Seats = Annotated[int, Interval(gt=0, le=SEATS_MAX)]
SeatThreshold = Annotated[int, Interval(ge=0, le=SEATS_MAX)]
UnitPriceFen = Annotated[int, Interval(gt=0, le=UNIT_PRICE_FEN_MAX)]
PositiveFen = Annotated[int, Interval(gt=0, le=FEN_MAX)]
FenDelta = Annotated[int, Interval(ge=-FEN_MAX, le=FEN_MAX)]  # an adjustment up or down
FiscalYear = Annotated[int, Interval(ge=2000, le=2100)]
Score = Annotated[int, Interval(ge=0, le=100)]
Months = Annotated[int, Interval(ge=1, le=600)]

# Times. Years outside these bounds are typing mistakes, and near the ends of Python's range the
# conversion to UTC itself would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991; needs no tzdata


def _in_utc(value: datetime) -> datetime:
    """An aware time in UTC, refused outside EARLIEST..LATEST (and so before it can overflow)."""
    # The wall-clock time first: its offset is under a day, so this keeps astimezone in range.
    wall = value.replace(tzinfo=None)
    if not EARLIEST.replace(tzinfo=None) - timedelta(days=1) <= wall <= LATEST.replace(tzinfo=None) + timedelta(days=1):
        raise ValueError(f"a time between {EARLIEST.year} and {LATEST.year} is expected")
    value = value.astimezone(UTC)
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"a time between {EARLIEST.year} and {LATEST.year} is expected")
    return value


# An RFC 3339 time with its zone or offset ("2026-11-23T08:00:00Z"); one without is refused.
UTCTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


def _sensible_day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError(f"a date between {EARLIEST.year} and {LATEST.year} is expected")
    return value


# A calendar day (2026-11-23), within the same years as times, so counting days from it stays in range.
Day = Annotated[date, AfterValidator(_sensible_day)]


def moment_or_day(value: str) -> datetime:
    """A query's time, or a date meaning the end of that day in China (Asia/Shanghai), in UTC.
    Raises ValueError for anything else, for a time without a zone and for one out of bounds."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        if not EARLIEST.date() <= day <= LATEST.date() - timedelta(days=1):
            raise ValueError(f"a date between {EARLIEST.year} and {LATEST.year} is expected")
        return datetime.combine(day + timedelta(days=1), time(), CHINA).astimezone(UTC) - timedelta(microseconds=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("the time needs a zone (for example 2026-11-23T08:00:00Z)")
    return _in_utc(moment)


# Texts. PostgreSQL's text cannot hold a NUL, and a lone surrogate cannot be written as UTF-8 by
# either database; other control characters have no business in names and reasons.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the text is not valid Unicode") from exc
    return value


def check_texts(value: Any, where: str = "body") -> Any:
    """Checks every string in a parsed JSON body, keys included (RequestSchema runs it first)."""
    texts: list[str] = []
    _collect_texts(value, texts)
    # All the body's strings in one search and one encoding (a bulk request has 20,000 of them);
    # only a body that fails is walked again to name where.
    joined = "".join(texts)
    if _CONTROL.search(joined) or not _encodable(joined):
        _name_bad_text(value, where)
    return value


def _collect_texts(value: Any, texts: list[str]) -> None:
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, dict):
        texts.extend(key for key in value if isinstance(key, str))
        for item in value.values():
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict | list | tuple):
                _collect_texts(item, texts)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict | list | tuple):
                _collect_texts(item, texts)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name_bad_text(value: Any, where: str) -> None:
    """Raises the error of the first bad string in `value`, named by its place in the body."""
    if isinstance(value, str):
        try:
            check_text(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _name_bad_text(key, where)
            _name_bad_text(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _name_bad_text(item, f"{where}[{index}]")


def text_field(max_length: int, *, min_length: int = 1, default: Any = ..., **column: Any) -> Any:
    """A text field of a table's shared base class (CONVENTIONS §5): its column is a VARCHAR of
    `max_length`, and the request schemas deriving from the base refuse a longer text with 422
    and state `maxLength` in OpenAPI. One declaration, so column, check and document agree."""
    import sqlalchemy as sa
    from sqlmodel import Field  # here: the schemas that import this module need no SQLModel

    return Field(default, min_length=min_length, max_length=max_length, sa_type=sa.String(max_length), **column)


def Text(max_length: int, *, min_length: int = 1):  # noqa: N802 - used where a type is written
    """A string of min_length..max_length characters, without control characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(check_text)]


# Query parameters that filter by a status or kind name: a short lower-case word.
Word = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
