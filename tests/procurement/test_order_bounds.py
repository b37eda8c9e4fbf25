"""Bounds from one source (issue 27): a cancel reason the order's column could not hold is refused
with 422 at the edge (it was a 500 on PostgreSQL), and the OpenAPI document states the column's
limit."""

from __future__ import annotations

from services.procurement.orders.models import REASON_MAX
from tests.procurement.test_orders import agreement, order_body


async def test_a_cancel_reason_longer_than_its_column_is_422_and_the_longest_is_kept(scenario):
    deal = await agreement(scenario)
    order = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    refused = await scenario.svc.client.post(f"/api/v1/procurement/orders/{order['id']}/cancel",
                                             headers=scenario.unit_1.headers, json={"reason": "因" * 300})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/validation-error"), refused.text
    assert (await scenario.call("GET", f"/orders/{order['id']}", scenario.unit_1))["status"] == "pending_budget"
    cancelled = await scenario.call("POST", f"/orders/{order['id']}/cancel", scenario.unit_1,
                                    json={"reason": "因" * REASON_MAX})
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "因" * REASON_MAX)
    document = (await scenario.svc.client.get("/openapi.json")).json()["components"]["schemas"]["CancelOrder"]
    assert document["properties"]["reason"]["anyOf"][0]["maxLength"] == REASON_MAX
