"""The campaign as an OCDS 1.1 release package: framework agreement and call-offs."""

from __future__ import annotations

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
