"""Plain edits of pools and devices go through the aggregate's StateMachine like its state changes:
one compare-and-set, its history entry, and an event where someone else could act on it (a pool's
new threshold that makes it low: yes; a device's hostname: no one else keeps it)."""

from __future__ import annotations

import asyncio

from tests.licenses.conftest import PREFIX, make_device, make_pool
from tests.support.apps import put_as_read
from tests.support.events import all_published, published
from tests.support.races import RACERS, ROUNDS


async def history_of(licenses, admin, kind: str, object_id: str) -> list[tuple[str, dict]]:
    entries = (await licenses.client.get(f"{PREFIX}/{kind}/{object_id}/history", headers=admin.headers)).json()
    return [(h["action"], h["data"]) for h in entries["items"]]


async def test_a_threshold_that_makes_the_pool_low_says_so_once(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    path = f"{PREFIX}/pools/{pool['id']}"
    # 3 idle seats: a threshold of 2 is not crossed, one of 5 is (an event), one of 6 finds it low already.
    for threshold in (2, 5, 6):
        saved = await put_as_read(licenses.client, path, headers=admin.headers, json={"low_threshold": threshold})
        assert saved.status_code == 200 and saved.json()["low_threshold"] == threshold, saved.text
    low = await published(nats.url, "licenses.pool.low", count=1)
    assert low[0]["data"] == {"pool_id": pool["id"], "org_id": str(tree["dept_a"].id), "available": 3,
                              "threshold": 5}
    history = await history_of(licenses, admin, "pools", pool["id"])
    assert [entry for entry in history if entry[0] == "threshold_set"] == [
        ("threshold_set", {"low_threshold": 2}), ("threshold_set", {"low_threshold": 5}),
        ("threshold_set", {"low_threshold": 6})]


async def test_a_device_edit_is_a_merge_patch_with_its_history_and_no_event(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "ED-1", owner="zhang.san")
    path = f"{PREFIX}/devices/{device['id']}"
    read = await licenses.client.get(path, headers=admin.headers)
    edited = await licenses.client.patch(path, headers={**admin.headers, "If-Match": read.headers["etag"]},
                                         json={"hostname": "finance-07", "owner": None})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["hostname"], body["owner"], body["kind"], body["asset_tag"]) == ("finance-07", None, "desktop", "ED-1")
    assert edited.headers["etag"] != read.headers["etag"]
    # The version read is gone: a second edit holding it is refused, and changes nothing.
    stale = await licenses.client.patch(path, headers={**admin.headers, "If-Match": read.headers["etag"]},
                                        json={"hostname": "finance-08"})
    assert stale.status_code == 412 and stale.json()["status"] == 412
    assert (await licenses.client.get(path, headers=admin.headers)).json()["hostname"] == "finance-07"
    # null for a field that may not be empty is a 422 naming it, not a None in the table.
    refused = await licenses.client.patch(path, headers=admin.headers, json={"hostname": None})
    assert refused.status_code == 422 and "hostname" in refused.text
    history = await history_of(licenses, admin, "devices", device["id"])
    assert [action for action, _ in history] == ["registered", "edited"]
    assert history[1][1] == {"hostname": "finance-07", "owner": None}
    assert [e for e in await all_published(nats.url, "licenses.>") if e["subject"] == device["id"]] == []


async def test_a_retired_device_is_not_edited_and_auditors_never_edit(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "ED-2")
    path = f"{PREFIX}/devices/{device['id']}"
    auditor = tree.actor("dept_a", "auditor")
    assert (await licenses.client.patch(path, headers=auditor.headers, json={"hostname": "x"})).status_code == 403
    assert (await licenses.client.post(f"{path}/retire", headers=admin.headers)).status_code == 200
    refused = await licenses.client.patch(path, headers=admin.headers, json={"hostname": "x"})
    assert refused.status_code == 409 and refused.json()["status_now"] == "retired", refused.text


async def test_a_device_edit_racing_its_retirement(licenses, tree):
    """Both take the device's row: the edit lands before the retirement, or answers 409 after it."""
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"ER-{round_}")
        path = f"{PREFIX}/devices/{device['id']}"
        answers = await asyncio.gather(
            licenses.client.post(f"{path}/retire", headers=admin.headers),
            *(licenses.client.patch(path, headers=admin.headers, json={"hostname": f"h-{i}"})
              for i in range(RACERS - 1)))
        assert not [a for a in answers if a.status_code >= 500]
        assert answers[0].status_code == 200, answers[0].text
        for lost in (a for a in answers[1:] if a.status_code != 200):
            assert lost.status_code == 409 and lost.json()["type"].endswith("/invalid-status"), lost.text
        final = (await licenses.client.get(path, headers=admin.headers)).json()
        assert final["status"] == "retired"
        edits = [a for a in answers[1:] if a.status_code == 200]
        # Every edit that won landed before the retirement: the last of them is the hostname kept.
        assert final["hostname"] in {a.json()["hostname"] for a in edits} | {device["hostname"]}


async def test_threshold_puts_holding_one_version_one_wins(licenses, tree):
    """The PUTs holding one version: one lands, the others answer 412 and change nothing."""
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=3)
    path = f"{PREFIX}/pools/{pool['id']}"
    for round_ in range(ROUNDS):
        read = await licenses.client.get(path, headers=admin.headers)
        answers = await asyncio.gather(*(
            licenses.client.put(path, headers={**admin.headers, "If-Match": read.headers["etag"]},
                                json={"low_threshold": 10 * round_ + i}) for i in range(RACERS)))
        assert not [a for a in answers if a.status_code >= 500]
        won = [a for a in answers if a.status_code == 200]
        assert len(won) == 1 and all(a.status_code == 412 for a in answers if a is not won[0])
        kept = (await licenses.client.get(path, headers=admin.headers)).json()["low_threshold"]
        assert kept == won[0].json()["low_threshold"]
