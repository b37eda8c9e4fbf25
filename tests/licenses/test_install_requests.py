"""Install and uninstall approval (SPEC Licenses → Oversight): staff ask, an IT admin of the org
decides once; an approved install takes the seat in the approval's transaction, an approved
uninstall gives it back, and a staff member reads its own requests and nothing else."""

from __future__ import annotations

import asyncio

from kernel.ids import new_id
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool
from tests.support.events import published
from tests.support.identity import Actor
from tests.support.races import RACERS, ROUNDS, one_winner

# Shipped catalogue titles keep their ids on every installation (uuid5 of their key).
TITLE = "bd860b8e-ad7e-57ef-a19b-ccdd71dda444"  # 永中Office (commercial)
OTHER_TITLE = "4f7f548a-7b4d-5d9b-b4df-717869c967f0"  # 火绒终端安全管理系统


async def ask(svc, actor, device_id: str, *, kind: str = "install", title: str = TITLE, reason: str = "办公需要"):
    return await svc.client.post(f"{PREFIX}/install-requests", headers=actor.headers, json={
        "device_id": device_id, "title_id": title, "kind": kind, "reason": reason})


async def requested(svc, actor, device_id: str, **kwargs) -> dict:
    resp = await ask(svc, actor, device_id, **kwargs)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def read(svc, actor, path: str) -> dict:
    resp = await svc.client.get(f"{PREFIX}{path}", headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def decide(svc, actor, request_id: str, command: str, **body):
    return await svc.client.post(f"{PREFIX}/install-requests/{request_id}/{command}", headers=actor.headers,
                                 json=body)


async def test_staff_asks_and_an_it_admin_approves_with_the_seat(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    staff = tree.actor("dept_a", "staff")
    pool = await make_pool(licenses, admin, quantity=2)
    device = await make_device(licenses, admin, "IR-1")
    request = await requested(licenses, staff, device["id"])
    assert request["status"] == "pending" and request["kind"] == "install"
    assert request["device_id"] == device["id"] and request["title_id"] == TITLE
    assert request["org_id"] == str(tree["dept_a"].id) and request["allocation_id"] is None

    resp = await decide(licenses, admin, request["id"], "approve", pool_id=pool["id"])
    assert resp.status_code == 200, resp.text
    approved = resp.json()
    assert approved["status"] == "approved" and approved["pool_id"] == pool["id"]
    assert approved["decided_by"] == f"user:{admin.subject}" and approved["allocation_id"]
    seat = await read(licenses, admin, f"/allocations/{approved['allocation_id']}")
    assert seat["assignee_id"] == device["id"] and seat["status"] == "active"
    assert (await read(licenses, admin, f"/pools/{pool['id']}"))["allocated"] == 1

    history = (await licenses.client.get(f"{PREFIX}/install-requests/{request['id']}/history",
                                         headers=staff.headers)).json()["items"]
    assert [(h["action"], h["actor"]) for h in history] == [
        ("requested", f"user:{staff.subject}"), ("approved", f"user:{admin.subject}")]
    [event] = await published(nats.url, "licenses.install_request.decided", count=1)
    assert event["data"]["install_request_id"] == request["id"] and event["data"]["status"] == "approved"
    assert event["data"]["allocation_id"] == approved["allocation_id"]


async def test_no_seat_left_answers_409_and_the_request_stays_pending(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1)
    taken, device = await make_device(licenses, admin, "IR-F"), await make_device(licenses, admin, "IR-N")
    assert (await allocate(licenses, admin, pool["id"], taken["id"])).status_code == 201
    request = await requested(licenses, admin, device["id"])
    resp = await decide(licenses, admin, request["id"], "approve", pool_id=pool["id"])
    assert resp.status_code == 409 and resp.json()["type"].endswith("/no-seats-available"), resp.text
    again = (await licenses.client.get(f"{PREFIX}/install-requests/{request['id']}", headers=admin.headers)).json()
    assert again["status"] == "pending" and again["pool_id"] is None and again["decided_at"] is None
    history = (await licenses.client.get(f"{PREFIX}/install-requests/{request['id']}/history",
                                         headers=admin.headers)).json()["items"]
    assert [h["action"] for h in history] == ["requested"]
    # Once a seat is free the same request is approved.
    seat = (await licenses.client.get(f"{PREFIX}/allocations?assignee_id={taken['id']}",
                                      headers=admin.headers)).json()["items"][0]
    await licenses.client.post(f"{PREFIX}/allocations/{seat['id']}/reclaim", headers=admin.headers,
                               json={"reason": "调配"})
    assert (await decide(licenses, admin, request["id"], "approve", pool_id=pool["id"])).json()["status"] == "approved"


async def test_an_approved_uninstall_gives_the_seat_back(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=1)
    device = await make_device(licenses, admin, "IR-U")
    seat = (await allocate(licenses, admin, pool["id"], device["id"])).json()
    request = await requested(licenses, tree.actor("dept_a", "staff"), device["id"], kind="uninstall")
    approved = (await decide(licenses, admin, request["id"], "approve", pool_id=pool["id"])).json()
    assert approved["status"] == "approved" and approved["allocation_id"] == seat["id"]
    seat = (await licenses.client.get(f"{PREFIX}/allocations/{seat['id']}", headers=admin.headers)).json()
    assert seat["status"] == "reclaimed" and request["id"] in seat["reason"]
    assert (await read(licenses, admin, f"/pools/{pool['id']}"))["allocated"] == 0


async def test_reject_and_a_second_decision_answers_409(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin)
    device = await make_device(licenses, admin, "IR-R")
    request = await requested(licenses, admin, device["id"])
    rejected = (await decide(licenses, admin, request["id"], "reject", reason="无此需要")).json()
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "无此需要"
    for command, body in (("approve", {"pool_id": pool["id"]}), ("reject", {"reason": "再次"})):
        resp = await decide(licenses, admin, request["id"], command, **body)
        assert resp.status_code == 409, resp.text
        assert resp.json()["type"].endswith("/invalid-status") and resp.json()["status_now"] == "rejected"
    assert (await read(licenses, admin, f"/pools/{pool['id']}"))["allocated"] == 0


async def test_who_may_ask_and_decide(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin)
    device = await make_device(licenses, admin, "IR-W")
    # Another org's staff does not see the device; finance and auditors may not ask.
    resp = await ask(licenses, tree.actor("dept_b", "staff"), device["id"])
    assert resp.status_code == 422 and resp.json()["type"].endswith("/unknown-device")
    for roles in (("finance",), ("auditor",)):
        assert (await ask(licenses, tree.actor("dept_a", *roles), device["id"])).status_code == 403
    assert (await ask(licenses, admin, str(new_id()))).status_code == 422
    request = await requested(licenses, tree.actor("province", "staff"), device["id"])  # staff over the subtree
    # Staff (even its requester) and the parent's finance may not decide; a sibling's it_admin does not see it.
    staff = tree.actor("dept_a", "staff")
    assert (await decide(licenses, staff, request["id"], "reject", reason="x")).status_code == 403
    assert (await decide(licenses, tree.actor("province", "finance"), request["id"], "reject",
                         reason="x")).status_code == 403
    assert (await decide(licenses, tree.actor("dept_b", "it_admin"), request["id"], "approve",
                         pool_id=pool["id"])).status_code == 404
    # A pool of another branch is not one the device can take a seat from.
    other = await make_pool(licenses, tree.actor("dept_b", "it_admin"), quantity=1)
    resp = await decide(licenses, tree.actor("province", "it_admin"), request["id"], "approve", pool_id=other["id"])
    assert resp.status_code == 422 and resp.json()["type"].endswith("/pool-outside-org"), resp.text
    bad = await ask(licenses, admin, device["id"], kind="upgrade")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    unknown = await ask(licenses, admin, device["id"], title=str(new_id()))
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("/unknown-title"), unknown.text
    # A pool of one title does not license another (a WPS seat does not make Office genuine).
    yozo = await make_pool(licenses, admin, product="永中Office", vendor="永中软件")
    assert yozo["title_id"] == TITLE
    other = await requested(licenses, admin, device["id"], title=OTHER_TITLE)
    resp = await decide(licenses, admin, other["id"], "approve", pool_id=yozo["id"])
    assert resp.status_code == 422 and resp.json()["type"].endswith("/pool-of-another-title"), resp.text


async def test_staff_reads_its_own_requests_and_nothing_else(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    mine, colleague = tree.actor("dept_a", "staff"), tree.actor("dept_a", "staff")
    device = await make_device(licenses, admin, "IR-V")
    own = await requested(licenses, mine, device["id"])
    theirs = await requested(licenses, colleague, device["id"])
    by_admin = await requested(licenses, admin, device["id"], kind="uninstall")

    listed = (await licenses.client.get(f"{PREFIX}/install-requests", headers=mine.headers)).json()
    assert [r["id"] for r in listed["items"]] == [own["id"]]
    assert (await licenses.client.get(f"{PREFIX}/install-requests/{theirs['id']}",
                                      headers=mine.headers)).status_code == 404
    assert (await licenses.client.get(f"{PREFIX}/install-requests/{own['id']}/history",
                                      headers=mine.headers)).status_code == 200
    # The IT admin and an auditor of the parent read all three; a sibling's it_admin none.
    for reader in (admin, tree.actor("province", "auditor")):
        listed = (await licenses.client.get(f"{PREFIX}/install-requests", headers=reader.headers)).json()
        assert {r["id"] for r in listed["items"]} == {own["id"], theirs["id"], by_admin["id"]}
    assert (await licenses.client.get(f"{PREFIX}/install-requests", headers=tree.actor(
        "dept_b", "it_admin").headers)).json()["items"] == []
    pending = (await licenses.client.get(f"{PREFIX}/install-requests?status=pending&device_id={device['id']}",
                                         headers=admin.headers)).json()["items"]
    assert len(pending) == 3
    # Other roles do not read requests; staff reads nothing but them (its one right, SPEC Identity).
    assert (await licenses.client.get(f"{PREFIX}/install-requests", headers=tree.actor(
        "dept_a", "finance").headers)).status_code == 403
    for path in (f"/devices/{device['id']}", "/pools", f"/compliance?org_id={tree['dept_a'].id}"):
        resp = await licenses.client.get(f"{PREFIX}{path}", headers=mine.headers)
        assert resp.status_code == 403 and resp.json()["type"].endswith("/forbidden"), (path, resp.text)


async def test_compliance_lists_commercial_titles_installed_without_approval(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    yozo = await make_pool(licenses, admin, product="永中Office", vendor="永中软件", quantity=1)
    device = await make_device(licenses, admin, "IR-UN")
    report = await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers, json={
        "software": [{"name": "永中Office 2019 个人版"}, {"name": "永中Office", "vendor": "永中软件"},
                     {"name": "7-Zip 23.01 (x64)"}]})
    assert report.status_code == 200, report.text
    position = await read(licenses, admin, f"/compliance?org_id={tree['dept_a'].id}")
    assert [(u["asset_tag"], u["title_id"], u["name"]) for u in position["unapproved_installs"]] == [
        ("IR-UN", TITLE, "永中Office")]
    request = await requested(licenses, tree.actor("dept_a", "staff"), device["id"])
    await decide(licenses, admin, request["id"], "approve", pool_id=yozo["id"])
    position = await read(licenses, admin, f"/compliance?org_id={tree['dept_a'].id}")
    assert position["unapproved_installs"] == []


async def test_staff_list_the_computers_registered_to_them(licenses, tree, keys):
    admin = tree.actor("dept_a", "it_admin")
    subject = new_id()
    staff = Actor(tree["dept_a"], ("staff",), subject, keys.mint(org=tree["dept_a"], roles=("staff",),
                                                                subject=subject, name="zhang.san"))
    mine = await make_device(licenses, admin, "IR-OWN", owner="zhang.san")
    await make_device(licenses, admin, "IR-OTHER", owner="li.si")
    listed = (await licenses.client.get(f"{PREFIX}/devices", headers=staff.headers)).json()["items"]
    assert [d["id"] for d in listed] == [mine["id"]]
    assert (await licenses.client.get(f"{PREFIX}/devices/{mine['id']}", headers=staff.headers)).status_code == 403


async def test_racing_decisions_of_one_request_take_effect_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=ROUNDS * 2)
    for round_ in range(ROUNDS):
        device = await make_device(licenses, admin, f"IRR-{round_}")
        request = await requested(licenses, admin, device["id"])
        commands = [("approve", {"pool_id": pool["id"]}) if i % 2 else ("reject", {"reason": f"r{i}"})
                    for i in range(RACERS)] if round_ % 2 else [("approve", {"pool_id": pool["id"]})] * RACERS
        answers = await asyncio.gather(*(decide(licenses, admin, request["id"], c, **b) for c, b in commands))
        winner = one_winner(answers).json()
        final = (await licenses.client.get(f"{PREFIX}/install-requests/{request['id']}", headers=admin.headers)).json()
        assert final["status"] == winner["status"]
        seats = (await licenses.client.get(f"{PREFIX}/allocations?assignee_id={device['id']}&status=active",
                                           headers=admin.headers)).json()["items"]
        assert len(seats) == (1 if winner["status"] == "approved" else 0)
        history = (await licenses.client.get(f"{PREFIX}/install-requests/{request['id']}/history",
                                             headers=admin.headers)).json()["items"]
        assert [h["action"] for h in history] == ["requested", winner["status"]]


async def test_two_approvals_racing_for_the_last_seat(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        pool = await make_pool(licenses, admin, quantity=1, product=f"Office {round_}")
        devices = [await make_device(licenses, admin, f"IRL-{round_}-{i}") for i in range(RACERS)]
        requests = [await requested(licenses, admin, d["id"]) for d in devices]
        answers = await asyncio.gather(*(decide(licenses, admin, r["id"], "approve", pool_id=pool["id"])
                                         for r in requests))
        one_winner(answers, slug="no-seats-available")
        states = [(await licenses.client.get(f"{PREFIX}/install-requests/{r['id']}", headers=admin.headers)).json()
                  for r in requests]
        assert sorted(s["status"] for s in states) == ["approved"] + ["pending"] * (RACERS - 1)
        assert (await read(licenses, admin, f"/pools/{pool['id']}"))["allocated"] == 1
