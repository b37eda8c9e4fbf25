"""What a console form accepts, without a browser: money in 元 to exact fen, a day as its last second
in Beijing time, where a form may send the browser afterwards, and one Idempotency-Key per rendered
form."""

from __future__ import annotations

import pytest

from gateway.console.forms import BadInput, console_path, day_end, fen, form_key, whole


@pytest.mark.parametrize(("typed", "expected"), [
    ("600", 60_000), ("0.01", 1), ("1,234.56", 123_456), (" 498.5 ", 49_850), ("0.29", 29), ("1.10", 110),
    ("19999999.99", 1_999_999_999), (".5", 50), ("4，980.00", 498_000),
])
def test_money_in_yuan_becomes_exact_fen(typed, expected):
    assert fen(typed) == expected


def test_the_classic_float_traps_are_exact():
    # float("0.29") * 100 is 28.999999999999996 and float("1.005") * 100 rounds to 100: never through floats.
    assert fen("0.29") == 29 and fen("2.67") == 267 and fen("1.15") == 115


@pytest.mark.parametrize("typed", ["1.005", "0.001", "12.345", "600.000"])
def test_more_than_two_decimals_is_refused_not_rounded(typed):
    with pytest.raises(BadInput) as refused:
        fen(typed)
    assert refused.value.key == "money_decimals"


@pytest.mark.parametrize("typed", ["", "abc", "-5", "0", "0.00", "1e3", "NaN", "Infinity", "1.2.3", "9" * 20])
def test_what_is_not_an_amount_is_refused(typed):
    with pytest.raises(BadInput) as refused:
        fen(typed)
    assert refused.value.key == "bad_money"


def test_whole_numbers():
    assert whole("12") == 12 and whole(" 3 ", minimum=1) == 3
    for typed in ("", "1.5", "x", "-1"):
        with pytest.raises(BadInput):
            whole(typed, minimum=0)


@pytest.mark.parametrize("target", ["/console/", "/console/pools/01a2", "/console", "/console/budget?status=draft"])
def test_console_paths_are_kept(target):
    assert console_path(target) == target


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/", "/console//evil.example",
                                    "/consolex", "/api/v1/budget/lines", "/console\\@evil.example", "javascript:x",
                                    "/console/\r\nSet-Cookie: x", "", None])
def test_anything_else_goes_to_the_fallback(target):
    assert console_path(target, "/console/pools") == "/console/pools"


def test_a_form_key_is_the_rendered_one_or_a_fresh_one():
    key = "8d5e1b7e-3f65-4c1e-9a40-1c7c2a0e7b11"
    assert form_key({"form_key": key}) == key
    assert form_key({}) != form_key({})  # an old page without the field: each post its own action
    assert form_key({"form_key": "not a uuid; DROP"}) != "not a uuid; DROP"


def test_the_policy_form_puts_its_fields_into_the_orgs_own_document():
    from gateway.console.pages.budget import policy_document

    own = {"caps": {"office": None, "database": 500}, "panel_min_members": 5,
           "thresholds": [{"fiscal_year": 2020, "decentralized_fen": 100, "public_tender_fen": 200}]}
    form = {"caps.database": "30", "seats_per_device.os": "2", "threshold_rows": "1",
            "thresholds.0.fiscal_year": "2020", "thresholds.0.decentralized": "1", "thresholds.0.public_tender": "2",
            "thresholds.1.fiscal_year": "2031", "thresholds.1.decentralized": "10",
            "thresholds.1.public_tender": "20.5"}
    assert policy_document(own, form) == {
        "caps": {"office": None, "database": 3000}, "seats_per_device": {"os": 2}, "panel_min_members": 5,
        "thresholds": [{"fiscal_year": 2020, "decentralized_fen": 100, "public_tender_fen": 200},
                       {"fiscal_year": 2031, "decentralized_fen": 1000, "public_tender_fen": 2050}]}
    # Blank fields inherit (a lifted limit stays lifted); fields the form does not show are kept.
    assert policy_document(own, {}) == {"caps": {"office": None}, "panel_min_members": 5}
    with pytest.raises(BadInput):
        policy_document({}, {"thresholds.0.fiscal_year": "2031", "thresholds.0.decentralized": "10"})


def test_a_day_is_valid_to_its_last_second_in_beijing_time():
    assert day_end("2027-06-30") == "2027-06-30T23:59:59+08:00"
    assert day_end(" ") is None and day_end(None) is None
    for typed in ("2027-02-30", "30/06/2027", "明天"):
        with pytest.raises(BadInput) as refused:
            day_end(typed)
        assert refused.value.key == "bad_date"
