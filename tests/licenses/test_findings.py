"""Findings (SPEC Licenses → Oversight, 审计整改跟踪): an auditor records one, an IT admin of the org
resolves it, an auditor verifies (closed) or reopens it; overdue ones are listed."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from kernel.ids import new_id
from services.licenses.findings.models import Finding
from services.licenses.findings.service import today
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool
from tests.support.events import published
from tests.support.races import RACERS, ROUNDS, one_winner

# Due in thirty days: a suite running across midnight in China still finds it ahead. Tests about
# today itself ask `today()` when they run, not when the module was read.
DUE = (today() + timedelta(days=30)).isoformat()


async def record(svc, actor, org, *, due: str = DUE, **extra):
    return await svc.client.post(f"{PREFIX}/findings", headers=actor.headers, json={
        "org_id": str(org.id), "description": "3 台电脑安装未授权 Microsoft Office", "due_date": due, **extra})


async def recorded(svc, actor, org, **extra) -> dict:
    resp = await record(svc, actor, org, **extra)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def act(svc, actor, finding_id: str, command: str, **body):
    return await svc.client.post(f"{PREFIX}/findings/{finding_id}/{command}", headers=actor.headers, json=body)


async def listed(svc, actor, query: str = "") -> list[dict]:
    resp = await svc.client.get(f"{PREFIX}/findings{query}", headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_record_resolve_reopen_resolve_verify(licenses, tree, nats):
    auditor, admin = tree.actor("province", "auditor"), tree.actor("dept_a", "it_admin")
    device = await make_device(licenses, admin, "F-1")
    finding = await recorded(licenses, auditor, tree["dept_a"], device_id=device["id"])
    assert finding["status"] == "open" and finding["due_date"] == DUE and finding["overdue"] is False
    assert finding["device_id"] == device["id"] and finding["created_by"] == f"user:{auditor.subject}"

    resolved = (await act(licenses, admin, finding["id"], "resolve", note="已卸载并采购正版")).json()
    assert resolved["status"] == "resolved" and resolved["resolution_note"] == "已卸载并采购正版"
    reopened = (await act(licenses, auditor, finding["id"], "reopen", reason="抽查仍有 1 台")).json()
    assert reopened["status"] == "open" and reopened["reopen_reason"] == "抽查仍有 1 台"
    assert (await act(licenses, auditor, finding["id"], "verify")).status_code == 409  # open: nothing to verify
    await act(licenses, admin, finding["id"], "resolve", note="全部整改")
    closed = (await act(licenses, auditor, finding["id"], "verify")).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    for command, body in (("resolve", {"note": "x"}), ("reopen", {"reason": "x"}), ("verify", {})):
        resp = await act(licenses, auditor if command != "resolve" else admin, finding["id"], command, **body)
        assert resp.status_code == 409 and resp.json()["status_now"] == "closed", resp.text

    history = (await licenses.client.get(f"{PREFIX}/findings/{finding['id']}/history",
                                         headers=admin.headers)).json()["items"]
    assert [h["action"] for h in history] == ["recorded", "resolved", "reopened", "resolved", "verified"]
    events = await published(nats.url, "licenses.finding.changed", count=5)
    assert [(e["data"]["action"], e["data"]["status"]) for e in events] == [
        ("recorded", "open"), ("resolved", "resolved"), ("reopened", "open"), ("resolved", "resolved"),
        ("verified", "closed")]


async def test_a_finding_about_a_title_is_verified_only_once_the_title_is_genuine_there(licenses, tree):
    auditor, admin = tree.actor("dept_a", "auditor"), tree.actor("dept_a", "it_admin")
    yozo = "bd860b8e-ad7e-57ef-a19b-ccdd71dda444"  # 永中Office, a shipped catalogue title
    device = await make_device(licenses, admin, "F-T")
    await licenses.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=admin.headers,
                               json={"software": [{"name": "永中Office", "vendor": "永中软件"}]})
    finding = await recorded(licenses, auditor, tree["dept_a"], device_id=device["id"], title_id=yozo)
    assert finding["title_id"] == yozo
    await act(licenses, admin, finding["id"], "resolve", note="已采购")  # said, not done
    resp = await act(licenses, auditor, finding["id"], "verify")
    assert resp.status_code == 409 and resp.json()["type"].endswith("/still-non-genuine"), resp.text
    assert (await licenses.client.get(f"{PREFIX}/findings/{finding['id']}", headers=auditor.headers)).json()[
        "status"] == "resolved"
    # The seat is allocated now: the title is genuine on the device, and the finding is verified.
    pool = await make_pool(licenses, admin, product="永中Office", vendor="永中软件", quantity=1)
    assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201
    assert (await act(licenses, auditor, finding["id"], "verify")).json()["status"] == "closed"
    unknown = await record(licenses, auditor, tree["dept_a"], title_id=str(new_id()))
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("/unknown-title")


async def test_bad_findings_are_refused(licenses, tree):
    auditor = tree.actor("dept_a", "auditor")
    yesterday = (today() - timedelta(days=1)).isoformat()
    resp = await record(licenses, auditor, tree["dept_a"], due=yesterday)
    assert resp.status_code == 422 and resp.json()["type"].endswith("/due-date-passed"), resp.text
    elsewhere = await make_device(licenses, tree.actor("dept_b", "it_admin"), "F-B")
    for device_id in (elsewhere["id"], str(new_id())):
        resp = await record(licenses, tree.actor("province", "auditor"), tree["dept_a"], device_id=device_id)
        assert resp.status_code == 422 and resp.json()["type"].endswith("/device-outside-org"), resp.text
    for bad in ({"due": "2026-02-30"}, {"due": "tomorrow"}, {"description": ""}, {"description": "x" * 2001}):
        resp = await record(licenses, auditor, tree["dept_a"], **bad)
        assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert (await recorded(licenses, auditor, tree["dept_a"], due=today().isoformat()))["overdue"] is False


async def test_who_may_record_resolve_and_verify(licenses, tree):
    # Recording is the auditors' write; IT admins, finance and staff may not.
    for roles in (("it_admin",), ("finance",)):
        assert (await record(licenses, tree.actor("dept_a", *roles), tree["dept_a"])).status_code == 403
    assert (await record(licenses, tree.actor("dept_a", "staff"), tree["dept_a"])).status_code == 403
    assert (await record(licenses, tree.actor("dept_b", "auditor"), tree["dept_a"])).status_code == 404
    finding = await recorded(licenses, tree.actor("dept_a", "auditor"), tree["dept_a"])
    # An auditor does not resolve; a sibling's it_admin does not see it.
    for org, roles, status in (("dept_a", "auditor", 403), ("dept_b", "it_admin", 404)):
        assert (await act(licenses, tree.actor(org, roles), finding["id"], "resolve", note="x")).status_code == status
    await act(licenses, tree.actor("province", "it_admin"), finding["id"], "resolve", note="x")
    # The it_admin who resolved may not verify its own work; a child's auditor does not see the finding.
    assert (await act(licenses, tree.actor("dept_a", "it_admin"), finding["id"], "verify")).status_code == 403
    assert (await act(licenses, tree.actor("school_a1", "auditor"), finding["id"], "verify")).status_code == 404
    assert (await act(licenses, tree.actor("province", "auditor"), finding["id"], "verify")).status_code == 200


async def test_lists_by_org_status_and_overdue(licenses, tree):
    auditor = tree.actor("province", "auditor")
    a = await recorded(licenses, auditor, tree["dept_a"])
    school = await recorded(licenses, auditor, tree["school_a1"])
    b = await recorded(licenses, auditor, tree["dept_b"])
    await act(licenses, tree.actor("dept_b", "it_admin"), b["id"], "resolve", note="x")
    # One found last month and due last week: written as it was then (a due date in the past is refused now).
    async with licenses.db.session() as session:
        finding = await session.get(Finding, uuid.UUID(a["id"]))
        finding.due_date = today() - timedelta(days=7)
        await session.commit()
    assert ids(await listed(licenses, auditor)) == {a["id"], school["id"], b["id"]}
    assert ids(await listed(licenses, auditor, f"?org_id={tree['dept_a'].id}")) == {a["id"], school["id"]}
    assert ids(await listed(licenses, auditor, "?status=resolved")) == {b["id"]}
    overdue = await listed(licenses, auditor, "?overdue=true")
    assert ids(overdue) == {a["id"]} and overdue[0]["overdue"] is True
    assert ids(await listed(licenses, auditor, "?overdue=false")) == {school["id"], b["id"]}
    # A unit reads its subtree's findings; a sibling none of them.
    assert ids(await listed(licenses, tree.actor("dept_a", "it_admin"))) == {a["id"], school["id"]}
    assert ids(await listed(licenses, tree.actor("school_a1", "finance"))) == {school["id"]}
    resp = await licenses.client.get(f"{PREFIX}/findings?org_id={tree['dept_a'].id}",
                                     headers=tree.actor("dept_b", "auditor").headers)
    assert resp.status_code == 404
    assert (await licenses.client.get(f"{PREFIX}/findings?status=gone", headers=auditor.headers)).status_code == 422


def ids(items: list[dict]) -> set[str]:
    return {f["id"] for f in items}


async def test_verify_racing_reopen_and_resolve_racing_verify(licenses, tree):
    auditor, admin = tree.actor("dept_a", "auditor"), tree.actor("dept_a", "it_admin")
    for _ in range(ROUNDS):
        finding = await recorded(licenses, auditor, tree["dept_a"])
        await act(licenses, admin, finding["id"], "resolve", note="整改")
        commands = [("verify", {}) if i % 2 else ("reopen", {"reason": f"r{i}"}) for i in range(RACERS)]
        answers = await asyncio.gather(*(act(licenses, auditor, finding["id"], c, **b) for c, b in commands))
        winner = one_winner(answers).json()
        assert winner["status"] in ("closed", "open")
        history = (await licenses.client.get(f"{PREFIX}/findings/{finding['id']}/history",
                                             headers=auditor.headers)).json()["items"]
        assert [h["action"] for h in history][2:] == ["verified" if winner["status"] == "closed" else "reopened"]

        # Resolutions and verifications of an open finding at once: one resolution, and a
        # verification only of that resolution, at most once.
        finding = await recorded(licenses, auditor, tree["dept_a"])
        commands = [(admin, "resolve", {"note": f"n{i}"}) if i % 2 else (auditor, "verify", {}) for i in range(RACERS)]
        answers = await asyncio.gather(*(act(licenses, who, finding["id"], c, **b) for who, c, b in commands))
        assert not [a for a in answers if a.status_code >= 500]
        won = Counter(c for (_, c, _), a in zip(commands, answers, strict=True) if a.status_code == 200)
        assert won["resolve"] == 1 and won["verify"] <= 1, won
        assert all(a.status_code == 409 for a in answers if a.status_code != 200)
        final = (await licenses.client.get(f"{PREFIX}/findings/{finding['id']}", headers=auditor.headers)).json()
        assert final["status"] == ("closed" if won["verify"] else "resolved")
