"""The policy vocabulary: the notices' defaults, and field-by-field resolution down the org tree."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from kernel.notices import (
    DEFAULT,
    NOTICE_74,
    NOTICE_98,
    PolicyDocument,
    Thresholds,
    defaults,
    resolve,
)

ROOT, CITY, SCHOOL = "/p/", "/p/c/", "/p/c/s/"


def doc(path: str, org_id: str, **values):
    return path, org_id, PolicyDocument(**values).values()


def test_defaults_are_the_notices_figures():
    policy = defaults()
    assert policy.cap_for("office", None) == 60_000
    assert policy.cap_for("office", None, special=True) == 140_000
    assert policy.cap_for("antivirus", "client") == 10_000
    assert policy.cap_for("antivirus", "server") == 140_000
    assert policy.cap_for("database", None) is None
    assert policy.os_needs_justification is True
    assert [policy.seats_per_device(c) for c in ("os", "office", "antivirus", "database")] == [1, 1, 1, None]
    assert policy.thresholds_for(2024) == Thresholds(60_000_000, 200_000_000)
    assert policy.standstill_days == 7
    assert policy.panel_min_members == 3 and policy.panel_odd_members is True
    assert policy.panel_max_buyer_share == Fraction(1, 3)
    assert policy.sources["caps.office"].origin == DEFAULT
    assert policy.sources["caps.office"].notice == NOTICE_98
    assert policy.sources["panel_max_buyer_share"].notice.startswith(NOTICE_74)
    assert "Art. 52" in policy.sources["standstill_days"].notice


def test_an_antivirus_client_has_no_special_need_cap():
    # 98号: a client licence is at most 100 元, whatever the justification.
    assert defaults().cap_for("antivirus", "client", special=True) == 10_000
    # A line that names no edition is held to the client's cap.
    assert defaults().cap_for("antivirus", None, special=False) == 10_000


def test_the_nearest_org_sets_each_field_and_the_rest_inherits():
    documents = [doc(ROOT, "root", standstill_days=10, caps={"office": 50_000}),
                 doc(CITY, "city", standstill_days=5, seats_per_device={"office": 2}),
                 doc("/q/", "elsewhere", standstill_days=1)]
    school = resolve(documents, SCHOOL)
    assert school.standstill_days == 5 and school.sources["standstill_days"].origin == "city"
    assert school.cap_for("office", None) == 50_000 and school.sources["caps.office"].origin == "root"
    # Keys the ancestors do not set keep their defaults.
    assert school.cap_for("antivirus", "client") == 10_000 and school.sources["caps.antivirus"].is_default
    assert school.seats_per_device("office") == 2 and school.seats_per_device("os") == 1
    assert school.sources["seats_per_device.os"].is_default
    assert resolve(documents, ROOT).standstill_days == 10
    assert resolve(documents, "/q/x/").standstill_days == 1
    assert resolve(documents, "/r/").standstill_days == 7


def test_a_null_key_lifts_an_inherited_limit():
    documents = [doc(CITY, "city", seats_per_device={"os": None}, caps={"office": None})]
    policy = resolve(documents, SCHOOL)
    assert policy.seats_per_device("os") is None
    assert policy.cap_for("office", None) is None
    assert policy.sources["seats_per_device.os"].origin == "city"


def test_thresholds_per_fiscal_year():
    documents = [doc(ROOT, "root", thresholds=[{"fiscal_year": 2020, "decentralized_fen": 100_000_000,
                                                "public_tender_fen": 200_000_000}]),
                 doc(CITY, "city", thresholds=[{"fiscal_year": 2021, "decentralized_fen": 50_000_000,
                                                "public_tender_fen": 150_000_000}])]
    city = resolve(documents, SCHOOL)
    assert city.thresholds_for(2020) == Thresholds(100_000_000, 200_000_000)
    assert city.thresholds_for(2021) == Thresholds(50_000_000, 150_000_000)
    assert city.thresholds_for(2022) == Thresholds(60_000_000, 200_000_000)
    assert city.threshold_sources(2021)["decentralized_fen"].origin == "city"
    assert city.threshold_sources(2022)["public_tender_fen"].is_default


def test_a_nearer_all_years_figure_wins_over_a_farther_years_entry():
    documents = [doc(ROOT, "root", thresholds=[{"fiscal_year": 2024, "decentralized_fen": 100_000_000,
                                                "public_tender_fen": 300_000_000}]),
                 doc(CITY, "city", decentralized_threshold_fen=40_000_000)]
    assert resolve(documents, SCHOOL).thresholds_for(2024) == Thresholds(40_000_000, 300_000_000)
    assert resolve(documents, ROOT).thresholds_for(2024) == Thresholds(100_000_000, 300_000_000)


def test_procurement_method_labels():
    tiers = Thresholds(60_000_000, 200_000_000)
    assert tiers.method_for(59_999_999) == "below_threshold"
    assert tiers.method_for(60_000_000) == "decentralized_procurement"
    assert tiers.method_for(200_000_000) == "public_tender"


def test_documents_refuse_nonsense():
    with pytest.raises(ValidationError):
        PolicyDocument(edition_caps={"antivirus.mobile": 1})
    with pytest.raises(ValidationError):
        PolicyDocument(panel_max_buyer_share="3/2")
    with pytest.raises(ValidationError):
        PolicyDocument(thresholds=[{"fiscal_year": 2024, "decentralized_fen": 2, "public_tender_fen": 1}])
    with pytest.raises(ValidationError):
        PolicyDocument(thresholds=[{"fiscal_year": 2024, "decentralized_fen": 1, "public_tender_fen": 2}] * 2)
    with pytest.raises(ValidationError):
        PolicyDocument(caps={"games": 1})
    assert PolicyDocument(panel_max_buyer_share="2/6").values() == {"panel_max_buyer_share": "1/3"}


def test_as_json_names_every_source():
    body = resolve([doc(CITY, "city", standstill_days=3)], SCHOOL).as_json()
    assert body["standstill_days"] == 3
    assert body["sources"]["standstill_days"] == {"from": "city", "notice": None, "org_path": CITY}
    assert body["sources"]["caps.office"]["from"] == "default"
    assert body["panel_max_buyer_share"] == "1/3"
