"""The kernel's bounded types: what they accept, what they refuse, and that refusals are ValueErrors
(422 at the edge) rather than overflows deeper down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from kernel.bounds import BIGINT_MAX, FEN_MAX, PositiveFen, Quantity, Text, UnitPriceFen, UTCTime, moment_or_day

utc_time = TypeAdapter(UTCTime)


def test_every_product_of_bounded_values_fits_a_bigint():
    assert TypeAdapter(Quantity).validate_python(10_000_000) * TypeAdapter(UnitPriceFen).validate_python(
        10_000_000_000) == FEN_MAX < BIGINT_MAX
    for value in (0, FEN_MAX + 1, 2**63, 10**30, float("nan"), float("inf")):
        with pytest.raises(ValidationError):
            TypeAdapter(PositiveFen).validate_python(value)


@pytest.mark.parametrize("text", ["2026-11-23T08:00:00", "2026-11-23", "9999-12-31T23:59:59-05:00",
                                  "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z", "3000-01-01T00:00:00Z"])
def test_times_need_a_zone_and_a_sensible_year(text):
    with pytest.raises(ValidationError):
        utc_time.validate_python(text)


def test_aware_times_come_back_in_utc():
    assert utc_time.validate_python("2026-11-23T08:00:00+08:00") == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-23T08:00:00", "9999-12-31", "0001-01-01", "0001-01-01T00:00:00+05:00",
                                  "9999-12-31T23:59:59-05:00", "tomorrow"])
def test_a_query_moment_refuses_what_it_cannot_place(text):
    with pytest.raises(ValueError):
        moment_or_day(text)


def test_a_query_day_means_its_end_in_china():
    assert moment_or_day("2026-11-23") == datetime(2026, 11, 23, 15, 59, 59, 999999, tzinfo=UTC)
    assert moment_or_day("2026-11-23T08:00:00Z") == datetime(2026, 11, 23, 8, tzinfo=UTC)


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "\ud800", "", "x" * 11])
def test_texts_refuse_control_characters_broken_unicode_and_excess(text):
    with pytest.raises(ValidationError):
        TypeAdapter(Text(10)).validate_python(text)
    assert TypeAdapter(Text(10)).validate_python("正版\t化") == "正版\t化"
