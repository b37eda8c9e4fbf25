"""Values no column can hold or no one means answer 422 problem+json, never 500 (SPEC Guarantees):
numbers beyond a BIGINT, times without a zone, NaN and control characters."""

from __future__ import annotations

import json
import math
import uuid

import pytest

from tests.procurement.conftest import PREFIX

BEYOND = [2**63, -(2**63) - 1, 10**30, -1]


def assert_refused(resp, *fields):
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json") and body["status"] == 422
    for field in fields:
        assert field in body["detail"], body


@pytest.mark.parametrize("value", BEYOND)
async def test_numbers_beyond_their_columns_are_refused(scenario, value):
    await scenario.create()
    lead, unit, supplier = scenario.lead, scenario.unit_1, scenario.supplier_x
    some_id = str(uuid.uuid4())
    calls = [
        ("/products", lead, {"vendor": "v", "name": "n", "edition": "e", "category": "os", "metric": "device",
                             "term_months": value, "domestic": True}, "term_months"),
        ("/campaigns", lead, {"title": "t", "lead_org_id": str(scenario.tree["soe"].id), "fiscal_year": value,
                              "participant_org_ids": [some_id],
                              "items": [{"product_id": some_id, "cap_unit_price_fen": value}]},
         "fiscal_year"),
        (f"{scenario.path}/demands", unit, {"org_id": str(scenario.tree["enterprise_1"].id),
                                            "item_id": scenario.items[0]["id"], "quantity": value,
                                            "budget_line_id": some_id}, "quantity"),
        (f"{scenario.path}/offers", supplier, {"items": [{"item_id": scenario.items[0]["id"],
                                                          "unit_price_fen": value}]}, "unit_price_fen"),
        (f"{scenario.path}/evaluations", lead, {"supplier_org_id": some_id, "score": value * 1000,
                                                "recommend": True}, "score"),
        ("/orders", unit, {"agreement_id": some_id, "item_id": some_id, "quantity": value,
                           "budget_line_id": some_id, "org_id": some_id}, "quantity"),
    ]
    for path, actor, body, field in calls:
        assert_refused(await scenario.svc.client.post(f"{PREFIX}{path}", json=body, headers=actor.headers), field)
    campaign = await scenario.call("GET", scenario.path, lead)
    assert campaign["items"][0]["cap_unit_price_fen"] == 60_000


@pytest.mark.parametrize("when", ["2026-11-23T08:00:00", "2026-11-23", "9999-12-31T23:59:59-05:00",
                                  "0001-01-01T00:00:00+05:00"])
async def test_a_delivery_time_needs_a_zone_and_a_sensible_year(scenario, when):
    resp = await scenario.svc.client.post(f"{PREFIX}/orders/{uuid.uuid4()}/deliver",
                                          headers=scenario.supplier_y.headers, json={"valid_from": when})
    assert_refused(resp, "valid_from")
    mixed = await scenario.svc.client.post(f"{PREFIX}/orders/{uuid.uuid4()}/deliver",
                                           headers=scenario.supplier_y.headers,
                                           json={"valid_from": "2026-01-01T00:00:00Z", "valid_to": when})
    assert_refused(mixed, "valid_to")


async def test_control_characters_nan_and_long_filters_are_refused(scenario):
    lead = scenario.lead
    for body in ({"vendor": "v\x00", "name": "n", "edition": "e", "category": "os", "metric": "device",
                  "domestic": True},
                 {"vendor": "v", "name": "n" * 201, "edition": "e", "category": "os", "metric": "device",
                  "domestic": True}):
        assert_refused(await scenario.svc.client.post(f"{PREFIX}/products", json=body, headers=lead.headers))
    nan = await scenario.svc.client.post(
        f"{PREFIX}/orders", headers={**lead.headers, "content-type": "application/json"},
        content=json.dumps({"agreement_id": str(uuid.uuid4()), "item_id": str(uuid.uuid4()), "quantity": math.nan,
                            "budget_line_id": str(uuid.uuid4()), "org_id": str(uuid.uuid4())}))  # NaN, bare
    assert_refused(nan, "quantity")
    for path in ("/campaigns", "/orders", "/agreements"):
        for status in ("open\x00", "x" * 41):
            assert_refused(await scenario.svc.client.get(f"{PREFIX}{path}", params={"status": status},
                                                         headers=lead.headers), "status")
        assert (await scenario.svc.client.get(f"{PREFIX}{path}", params={"status": "nothing_like_it"},
                                              headers=lead.headers)).json()["items"] == []


@pytest.mark.parametrize("start", ["9999-12-31", "0001-01-01", "3000-01-01", "2026-13-01"])
async def test_working_days_from_a_day_beyond_the_calendar_are_refused(scenario, start):
    resp = await scenario.svc.client.get(f"{PREFIX}/working-days", headers=scenario.lead.headers,
                                         params={"from": start, "days": 366})
    assert_refused(resp, "from")
    within = await scenario.svc.client.get(f"{PREFIX}/working-days", headers=scenario.lead.headers,
                                           params={"from": "2999-12-01", "days": 10})
    assert within.status_code == 200 and within.json()["until"] > "2999-12-01"
