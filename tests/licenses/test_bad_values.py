"""Values no column can hold or no one means answer 422 problem+json, never 500 (SPEC Guarantees):
seat counts beyond a BIGINT, times without a zone or out of any sensible range, control characters."""

from __future__ import annotations

import uuid

import pytest

from tests.licenses.conftest import PREFIX, make_pool

BEYOND = [2**63, -(2**63) - 1, 10**30, -1]
NAIVE_OR_ABSURD = ["2026-11-23T08:00:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31"]


def assert_refused(resp, *fields):
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json") and body["status"] == 422
    for field in fields:
        assert field in body["detail"], body


@pytest.mark.parametrize("value", BEYOND)
async def test_seat_counts_beyond_their_columns_are_refused(licenses, tree, value):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=5)
    post, put = licenses.client.post, licenses.client.put
    assert_refused(await post(f"{PREFIX}/entitlements", headers=admin.headers, json={
        "org_id": str(admin.org.id), "product_name": "p", "vendor": "v", "category": "office", "metric": "device",
        "quantity": value, "source": "manual"}), "quantity")
    assert_refused(await put(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers, json={"low_threshold": value}),
                   "low_threshold")
    assert_refused(await post(f"{PREFIX}/transfers", headers=admin.headers, json={
        "from_pool_id": pool["id"], "to_org_id": str(tree["dept_b"].id), "seats": value, "reason": "r"}), "seats")
    assert_refused(await post(f"{PREFIX}/reclaim-runs", headers=admin.headers, json={
        "org_id": str(admin.org.id), "inactive_days": value, "max_seats": value}), "inactive_days", "max_seats")
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert (after["total"], after["allocated"], after["low_threshold"]) == (5, 0, None)


@pytest.mark.parametrize("when", NAIVE_OR_ABSURD)
async def test_times_without_a_zone_or_beyond_sense_are_refused(licenses, tree, when):
    admin = tree.actor("dept_a", "it_admin")
    entitlement = {"org_id": str(admin.org.id), "product_name": "p", "vendor": "v", "category": "office",
                   "metric": "device", "quantity": 1, "source": "manual"}
    for field, other in (("valid_from", {}), ("valid_to", {"valid_from": "2026-01-01T00:00:00Z"})):
        assert_refused(await licenses.client.post(f"{PREFIX}/entitlements", headers=admin.headers,
                                                  json=entitlement | other | {field: when}), field)
    if len(when) > 10:  # a bare date is a valid as_of: the end of that day in China
        for path in ("/compliance", "/compliance.csv", "/compliance.xlsx"):
            resp = await licenses.client.get(f"{PREFIX}{path}", headers=admin.headers,
                                             params={"org_id": str(admin.org.id), "as_of": when})
            assert resp.status_code == 422 and resp.json()["type"].endswith("/invalid-as-of"), resp.text
    resp = await licenses.client.get(f"{PREFIX}/compliance", headers=admin.headers,
                                     params={"org_id": str(admin.org.id), "as_of": "9999-12-31"})
    assert resp.status_code == 422 and resp.json()["type"].endswith("/invalid-as-of"), resp.text


async def test_texts_with_control_characters_or_beyond_their_columns_are_refused(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=5)
    device = {"org_id": str(admin.org.id), "asset_tag": "A-1", "hostname": "h", "kind": "desktop"}
    for bad in ({"asset_tag": "A\x00"}, {"hostname": "h" * 201}, {"owner": "\u0007"}):
        assert_refused(await licenses.client.post(f"{PREFIX}/devices", headers=admin.headers, json=device | bad))
    for assignee in ("d\x00", "x" * 201):
        assert_refused(await licenses.client.post(f"{PREFIX}/pools/{pool['id']}/allocations", headers=admin.headers,
                                                  json={"assignee_type": "device", "assignee_id": assignee}),
                       "assignee_id")
    for params in ({"assignee_id": "a\x00"}, {"status": "active\x00"}, {"pool_id": "not-a-uuid"}):
        assert_refused(await licenses.client.get(f"{PREFIX}/allocations", headers=admin.headers, params=params))
    assert_refused(await licenses.client.get(f"{PREFIX}/pools", headers=admin.headers, params={"category": "x" * 50}),
                   "category")
    assert_refused(await licenses.client.post(f"{PREFIX}/devices/{uuid.uuid4()}/inventory", headers=admin.headers,
                                              json={"software": [{"name": "WPS\x00", "category": "office"}]}))
    after = (await licenses.client.get(f"{PREFIX}/pools/{pool['id']}", headers=admin.headers)).json()
    assert after["allocated"] == 0
