"""The campaign as an OCDS 1.1 release package: framework agreement and call-offs."""

from __future__ import annotations

import json
from decimal import Decimal

from services.procurement.ocds.service import ExactJSONResponse, money
from tests.procurement.conftest import PREFIX
from tests.procurement.ocds_schema import problems
from tests.procurement.test_orders import agreement, order_body


async def test_the_release_package_has_the_framework_and_its_call_offs(scenario):
    deal = await agreement(scenario)
    order = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    package = await scenario.call("GET", f"{scenario.path}/ocds", scenario.lead)
    assert package["version"] == "1.1" and package["uri"].endswith(f"{scenario.path}/ocds")
    assert {"publishedDate", "publisher", "releases"} <= set(package)
    framework, call_off = package["releases"]
    assert framework["ocid"] == f"ocds-zhengban-{scenario.campaign['id']}"
    for release in package["releases"]:
        assert {"ocid", "id", "date", "tag", "initiationType", "parties", "buyer"} <= set(release)
        assert release["initiationType"] == "tender"
        party_ids = {p["id"] for p in release["parties"]}
        assert release["buyer"]["id"] in party_ids
    tender = framework["tender"]
    assert tender["techniques"] == {"hasFrameworkAgreement": True} and tender["status"] == "complete"
    assert [i["unit"]["value"] for i in tender["items"]] == [{"amount": 600.0, "currency": "CNY"},
                                                            {"amount": 100.0, "currency": "CNY"}]
    assert tender["items"][0]["quantity"] == 150 and tender["numberOfTenderers"] == 2
    (award,) = framework["awards"]
    assert award["status"] == "active" and award["suppliers"][0]["id"] == str(scenario.tree["supplier_y"].id)
    (contract,) = framework["contracts"]
    assert contract["id"] == deal["id"] and contract["awardID"] == award["id"]
    assert set(contract["period"]) == {"startDate", "endDate"}
    roles = {p["id"]: p["roles"] for p in framework["parties"]}
    assert roles[str(scenario.tree["soe"].id)] == ["procuringEntity"]
    assert "supplier" in roles[str(scenario.tree["supplier_y"].id)]
    assert framework["relatedProcesses"] == [{"id": order["id"], "relationship": ["subContract"],
                                              "title": "call-off order", "scheme": "ocid",
                                              "identifier": f"ocds-zhengban-{order['id']}"}]
    assert call_off["ocid"] == f"ocds-zhengban-{order['id']}"
    assert call_off["relatedProcesses"][0]["relationship"] == ["framework"]
    assert call_off["relatedProcesses"][0]["identifier"] == framework["ocid"]
    assert call_off["contracts"][0]["value"] == {"amount": 5200.0, "currency": "CNY"}


async def test_the_package_is_valid_ocds_1_1_5_with_exact_amounts(scenario):
    deal = await agreement(scenario)
    order = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal, quantity=7))
    resp = await scenario.svc.client.get(f"{PREFIX}{scenario.path}/ocds", headers=scenario.lead.headers)
    package = resp.json()
    assert problems(package) == []
    # Each contract says which award it comes from: the framework's, and each call-off's own.
    framework, call_off = package["releases"]
    assert framework["contracts"][0]["awardID"] == framework["awards"][0]["id"]
    assert call_off["contracts"][0]["awardID"] == call_off["awards"][0]["id"] == f"{order['id']}-award"
    # Yuan from integer fen, digit for digit: 7 × 520.00 = 3640.00, never through a float.
    exact = json.loads(resp.text, parse_float=Decimal)
    assert exact["releases"][1]["contracts"][0]["value"] == {"amount": Decimal("3640.00"), "currency": "CNY"}
    assert '"amount":600.00,' in resp.text


def test_amounts_beyond_a_float_stay_exact():
    rendered = ExactJSONResponse({"value": money(900_719_925_474_099_317)}).body.decode()
    assert rendered == '{"value":{"amount":9007199254740993.17,"currency":"CNY"}}'
    assert json.loads(rendered, parse_float=Decimal)["value"]["amount"] == Decimal("9007199254740993.17")


def test_the_schema_check_itself_catches_a_contract_without_its_award():
    package = {"uri": "https://example.org/p", "publishedDate": "2026-01-01T00:00:00Z", "version": "1.1",
               "publisher": {"name": "x"}, "releases": [{
                   "ocid": "ocds-x-1", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["contract"],
                   "initiationType": "tender", "contracts": [{"id": "c"}]}]}
    assert any("awardID" in p for p in problems(package))
