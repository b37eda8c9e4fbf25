"""Values no column can hold or no one means answer 422 problem+json, never 500 (SPEC Guarantees)."""

from __future__ import annotations

import pytest

from tests.budget.conftest import PREFIX, approved_line, draft_line

BEYOND = [2**63, -(2**63) - 1, 10**30, 10**31 - 1, -1]


def assert_refused(resp, *fields):
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json") and body["status"] == 422
    for field in fields:
        assert field in body["detail"], body


@pytest.mark.parametrize("value", [*BEYOND, "1" * 31, "NaN", "1e400", "2026x"])
async def test_query_years_beyond_sense_are_refused(budget, tree, value):
    reader = tree.actor("province", "auditor")
    assert_refused(await budget.client.get(f"{PREFIX}/lines", params={"fiscal_year": value}, headers=reader.headers),
                   "fiscal_year")
    assert_refused(await budget.client.get(f"{PREFIX}/summary", headers=reader.headers,
                                           params={"org_id": str(tree.orgs["province"].id), "fiscal_year": value}),
                   "fiscal_year")
    within = await budget.client.get(f"{PREFIX}/lines", params={"fiscal_year": 2026}, headers=reader.headers)
    assert within.status_code == 200 and within.json()["items"] == []


@pytest.mark.parametrize("field", ["quantity", "unit_price_fen", "fiscal_year"])
@pytest.mark.parametrize("value", BEYOND)
async def test_line_numbers_beyond_their_columns_are_refused(budget, tree, field, value):
    editor = tree.actor("dept_a", "budget_editor")
    body = {"org_id": str(editor.org.id), "fiscal_year": 2026, "category": "office", "title": "正版化",
            "quantity": 1, "unit_price_fen": 100, field: value}
    assert_refused(await budget.client.post(f"{PREFIX}/lines", json=body, headers=editor.headers), field)


async def test_nan_control_characters_and_unknown_fields_are_refused(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor)
    base = {"org_id": str(editor.org.id), "fiscal_year": 2026, "category": "office", "title": "正版化",
            "quantity": 1, "unit_price_fen": 100}
    nan = await budget.client.post(f"{PREFIX}/lines", headers={**editor.headers, "content-type": "application/json"},
                                   content=b'{"org_id": "%s", "fiscal_year": 2026, "category": "office", '
                                           b'"title": "x", "quantity": NaN, "unit_price_fen": Infinity}'
                                           % str(editor.org.id).encode())
    assert_refused(nan, "quantity", "unit_price_fen")
    assert_refused(await budget.client.post(f"{PREFIX}/lines", json=base | {"title": "a\x00b"},
                                            headers=editor.headers), "title")
    assert_refused(await budget.client.post(f"{PREFIX}/lines", json=base | {"title": "x" * 301},
                                            headers=editor.headers), "title")
    assert_refused(await budget.client.post(f"{PREFIX}/lines", json=base | {"colour": "red"},
                                            headers=editor.headers), "colour")
    assert_refused(await budget.client.patch(f"{PREFIX}/lines/{line['id']}", json={"quantity": 10**30},
                                             headers=editor.headers), "quantity")
    assert_refused(await budget.client.get(f"{PREFIX}/lines", params={"cursor": "x" * 101},
                                           headers=editor.headers), "cursor")
    assert_refused(await budget.client.get(f"{PREFIX}/lines", params={"status": "draft\x00"},
                                           headers=editor.headers), "status")


async def test_money_beyond_a_bigint_is_refused_in_approvals_adjustments_and_policies(budget, tree):
    finance = tree.actor("province", "finance")
    line = await approved_line(budget, tree)
    for value in (2**63, 10**30, -(2**63) - 1):
        assert_refused(await budget.client.post(f"{PREFIX}/lines/{line['id']}/adjustments", headers=finance.headers,
                                                json={"delta_fen": value, "reason": "x"}), "delta_fen")
    assert_refused(await budget.client.put(f"{PREFIX}/policies/{tree.orgs['province'].id}", headers=finance.headers,
                                           json={"caps": {"office": 2**63}, "special_caps": {},
                                                 "decentralized_threshold_fen": 10**30}),
                   "caps", "decentralized_threshold_fen")
    unchanged = (await budget.client.get(f"{PREFIX}/lines/{line['id']}", headers=finance.headers)).json()
    assert unchanged["available_fen"] == line["available_fen"]


async def test_null_for_a_field_a_line_cannot_lack_is_refused_and_null_clears_the_justification(budget, tree):
    """The fuzzer's first find: `{"unit_price_fen": null, "quantity": null, "title": null, …}` reached
    the price check as None and answered 500 (TypeError: NoneType * NoneType)."""
    editor = tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor)
    url = f"{PREFIX}/lines/{line['id']}"
    assert_refused(await budget.client.patch(url, headers=editor.headers, json={
        "unit_price_fen": None, "quantity": None, "title": None, "justification": "特殊需要"}),
        "unit_price_fen", "quantity", "title")
    for field in ("unit_price_fen", "quantity", "title"):
        assert_refused(await budget.client.patch(url, headers=editor.headers, json={field: None}), field)
    assert (await budget.client.get(url, headers=editor.headers)).json() == line

    justified = await budget.client.patch(url, headers=editor.headers, json={"justification": "特殊需要"})
    assert justified.status_code == 200 and justified.json()["justification"] == "特殊需要", justified.text
    cleared = await budget.client.patch(url, headers=editor.headers, json={"justification": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["justification"] is None
    assert {k: cleared.json()[k] for k in ("title", "quantity", "unit_price_fen")} == {
        k: line[k] for k in ("title", "quantity", "unit_price_fen")}
