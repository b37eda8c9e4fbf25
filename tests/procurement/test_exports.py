"""Orders and agreements as spreadsheets, seen as the list sees them: the supplier's rows carry
no budget line, an order of another unit is not there at all."""

from __future__ import annotations

import csv
import io

from tests.procurement.conftest import PREFIX
from tests.procurement.test_orders import agreement, order_body


def rows_of(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    lines = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


async def test_orders_and_agreements_export_as_each_reader_lists_them(scenario):
    deal = await agreement(scenario)
    order = await scenario.call("POST", "/orders", scenario.unit_1, 202, json=order_body(scenario, deal))
    client = scenario.svc.client

    own = rows_of(await client.get(f"{PREFIX}/orders.csv", headers=scenario.unit_1.headers))
    assert [(r["订单编号"], r["金额（元）"], r["预算项目编号"]) for r in own] == [
        (order["id"], "5200.00", order["budget_line_id"])]
    assert own[0]["单位名称"] == scenario.tree["enterprise_1"].name and own[0]["状态"] == "pending_budget"
    supplier = rows_of(await client.get(f"{PREFIX}/orders.csv", headers=scenario.supplier_y.headers))
    assert [(r["订单编号"], r["预算项目编号"]) for r in supplier] == [(order["id"], "")]
    loser = rows_of(await client.get(f"{PREFIX}/orders.csv", headers=scenario.supplier_x.headers))
    assert loser == []

    items = rows_of(await client.get(f"{PREFIX}/agreements.csv", headers=scenario.unit_1.headers))
    assert {r["协议编号"] for r in items} == {deal["id"]} and len(items) == len(deal["items"])
    prices = sorted(f"{i['unit_price_fen'] // 100}.{i['unit_price_fen'] % 100:02d}" for i in deal["items"])
    assert sorted(r["统一成交价（元）"] for r in items) == prices
    english = await client.get(f"{PREFIX}/agreements.xlsx", headers={**scenario.unit_1.headers,
                                                                     "Accept-Language": "en"})
    assert english.status_code == 200 and english.content[:2] == b"PK"  # a zip: the XLSX container
