"""Annual reports (SPEC Licenses → Oversight, 国办发〔2013〕88号): a draft freezes the org's compliance
report, submitting makes it final, the parent reads its children's status and sums what was
submitted below it."""

from __future__ import annotations

import asyncio
import time
import uuid

import sqlalchemy as sa

from kernel.bounds import CHINA
from kernel.ids import new_id, utcnow
from services.licenses.annual_reports.models import AnnualReport
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool, set_policy
from tests.support.events import published
from tests.support.races import RACERS, ROUNDS, one_winner


def this_year() -> int:
    """The year in China when the test runs (not when the module was read: a suite crossing New
    Year's midnight would otherwise ask about a year that has become the last)."""
    return utcnow().astimezone(CHINA).year


async def draft(svc, actor, org, year: int | None = None, **extra):
    return await svc.client.post(f"{PREFIX}/annual-reports", headers=actor.headers, json={
        "org_id": str(org.id), "year": this_year() if year is None else year, "responsible_person": "王主任",
        "phone": "0571-88888888", **extra})


async def drafted(svc, actor, org, year: int | None = None) -> dict:
    resp = await draft(svc, actor, org, year)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def submit(svc, actor, report_id: str):
    return await svc.client.post(f"{PREFIX}/annual-reports/{report_id}/submit", headers=actor.headers)


async def submitted(svc, actor, org, year: int | None = None) -> dict:
    resp = await submit(svc, actor, (await drafted(svc, actor, org, year))["id"])
    assert resp.status_code == 200, resp.text
    return resp.json()


async def read(svc, actor, path: str) -> dict:
    resp = await svc.client.get(f"{PREFIX}{path}", headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_a_draft_freezes_the_compliance_report_and_submitting_makes_it_final(licenses, tree, nats):
    admin = tree.actor("dept_a", "it_admin")
    pool = await make_pool(licenses, admin, quantity=5)
    device = await make_device(licenses, admin, "AR-1")
    await allocate(licenses, admin, pool["id"], device["id"])
    await make_device(licenses, admin, "AR-2", kind="laptop")
    report = await drafted(licenses, admin, tree["dept_a"])
    compliance = await read(licenses, admin, f"/compliance?org_id={tree['dept_a'].id}")
    assert report["status"] == "draft" and report["year"] == this_year() and report["submitted_at"] is None
    assert report["responsible_person"] == "王主任" and report["phone"] == "0571-88888888"
    snapshot = report["snapshot"]
    assert snapshot["computers"] == compliance["computers"] == {"total": 2, "desktop": 1, "laptop": 1, "server": 0}
    assert snapshot["office"]["genuine"] == 1 and snapshot["office"]["genuine_software"] == [
        {"name": "WPS Office 2019", "count": 1}]
    assert {k: v for k, v in snapshot.items() if k != "as_of"} == {k: v for k, v in compliance.items() if k != "as_of"}

    # A draft may be edited (its snapshot taken again); a second draft of the year is refused.
    await make_device(licenses, admin, "AR-3", kind="server")
    edited = (await licenses.client.patch(f"{PREFIX}/annual-reports/{report['id']}", headers=admin.headers,
                                          json={"notes": "已完成自查"})).json()
    assert edited["notes"] == "已完成自查" and edited["snapshot"]["computers"]["total"] == 3
    again = await draft(licenses, admin, tree["dept_a"])
    assert again.status_code == 409 and again.json()["type"].endswith("/annual-report-exists")

    final = (await submit(licenses, admin, report["id"])).json()
    assert final["status"] == "submitted" and final["late"] is False and final["submitted_at"]
    await make_device(licenses, admin, "AR-4")  # changes nothing submitted
    for resp in (await submit(licenses, admin, report["id"]),
                 await licenses.client.patch(f"{PREFIX}/annual-reports/{report['id']}", headers=admin.headers,
                                             json={"phone": "110"})):
        assert resp.status_code == 409 and resp.json()["status_now"] == "submitted", resp.text
    kept = await read(licenses, admin, f"/annual-reports/{report['id']}")
    assert kept["snapshot"] == edited["snapshot"] and kept["phone"] == "0571-88888888"
    history = (await read(licenses, admin, f"/annual-reports/{report['id']}/history"))["items"]
    assert [h["action"] for h in history] == ["drafted", "edited", "submitted"]
    [event] = await published(nats.url, "licenses.annual_report.submitted", count=1)
    assert event["data"]["annual_report_id"] == report["id"] and event["data"]["year"] == this_year()
    assert event["data"]["late"] is False


async def test_bad_reports_are_refused(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    resp = await draft(licenses, admin, tree["dept_a"], this_year() + 1)
    assert resp.status_code == 422 and resp.json()["type"].endswith("/year-not-begun"), resp.text
    for bad in ({"year": 1999}, {"phone": ""}, {"responsible_person": "x" * 101}, {"extra": 1}):
        resp = await draft(licenses, admin, tree["dept_a"], **bad) if "year" not in bad else await draft(
            licenses, admin, tree["dept_a"], bad["year"])
        assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    # Only an it_admin of the org (or above) drafts; a child's may not draft its parent's.
    assert (await draft(licenses, tree.actor("dept_a", "finance"), tree["dept_a"])).status_code == 403
    assert (await draft(licenses, tree.actor("dept_a", "auditor"), tree["dept_a"])).status_code == 403
    assert (await draft(licenses, tree.actor("school_a1", "it_admin"), tree["dept_a"])).status_code == 404
    report = await drafted(licenses, admin, tree["dept_a"])
    assert (await submit(licenses, tree.actor("dept_a", "finance"), report["id"])).status_code == 403


async def test_the_parent_reads_its_childrens_status_late_and_missing(licenses, tree):
    province = tree.actor("province", "it_admin")
    last_year = this_year() - 1
    # dept_a submits last year's report now: after last year's deadline, so late.
    late = await submitted(licenses, tree.actor("dept_a", "it_admin"), tree["dept_a"], last_year)
    assert late["late"] is True
    # This year: dept_a submitted on time, dept_b drafted only.
    await submitted(licenses, tree.actor("dept_a", "it_admin"), tree["dept_a"])
    dept_b = await drafted(licenses, tree.actor("dept_b", "it_admin"), tree["dept_b"])
    own = await submitted(licenses, province, tree["province"])

    answer = await read(licenses, province, f"/annual-reports?org_id={tree['province'].id}&year={this_year()}")
    assert answer["report"]["id"] == own["id"] and answer["next_cursor"] is None
    assert answer["due_at"] == f"{this_year()}-12-31T15:59:59Z"
    children = {c["org_name"]: c for c in answer["items"]}
    assert set(children) == {"dept_a", "dept_b"}
    assert (children["dept_a"]["status"], children["dept_a"]["late"]) == ("submitted", False)
    assert (children["dept_b"]["status"], children["dept_b"]["report_id"]) == ("draft", dept_b["id"])
    previous = await read(licenses, province, f"/annual-reports?org_id={tree['province'].id}&year={last_year}")
    assert previous["report"] is None
    children = {c["org_name"]: c for c in previous["items"]}
    assert (children["dept_a"]["status"], children["dept_a"]["late"]) == ("submitted", True)
    # Missing, and past its deadline: late too.
    assert (children["dept_b"]["status"], children["dept_b"]["late"]) == ("missing", True)

    # A jurisdiction's own deadline (policy annual_report_due) decides for its subtree.
    await set_policy(licenses, tree["dept_b"], {"annual_report_due": "01-01"})
    answer = await read(licenses, province, f"/annual-reports?org_id={tree['province'].id}&year={this_year()}")
    dept_b_status = next(c for c in answer["items"] if c["org_name"] == "dept_b")
    assert dept_b_status["due_at"] == f"{this_year()}-01-01T15:59:59Z" and dept_b_status["late"] is True
    final = (await submit(licenses, tree.actor("dept_b", "it_admin"), dept_b["id"])).json()
    assert final["late"] is True


async def test_a_unit_reads_its_own_reports_and_the_parent_the_childrens(licenses, tree):
    dept_a = await drafted(licenses, tree.actor("dept_a", "it_admin"), tree["dept_a"])
    province = await drafted(licenses, tree.actor("province", "it_admin"), tree["province"])
    for reader in ("dept_a", "province"):
        for roles in (("it_admin",), ("auditor",), ("finance",)):
            assert (await licenses.client.get(f"{PREFIX}/annual-reports/{dept_a['id']}", headers=tree.actor(
                reader, *roles).headers)).status_code == 200
    for reader in ("dept_b", "school_a1"):  # a sibling, a child
        resp = await licenses.client.get(f"{PREFIX}/annual-reports/{dept_a['id']}",
                                         headers=tree.actor(reader, "it_admin").headers)
        assert resp.status_code == 404, resp.text
    resp = await licenses.client.get(f"{PREFIX}/annual-reports/{province['id']}",
                                     headers=tree.actor("dept_a", "it_admin").headers)
    assert resp.status_code == 404
    resp = await licenses.client.get(f"{PREFIX}/annual-reports?org_id={tree['province'].id}&year={this_year()}",
                                     headers=tree.actor("dept_a", "it_admin").headers)
    assert resp.status_code == 404
    staff = tree.actor("dept_a", "staff")
    resp = await licenses.client.get(f"{PREFIX}/annual-reports/{dept_a['id']}", headers=staff.headers)
    assert resp.status_code == 403


async def test_the_rollup_sums_each_branch_once(licenses, tree):
    for org, devices, seats in (("dept_a", 3, 2), ("school_a1", 2, 1), ("dept_b", 4, 1)):
        admin = tree.actor(org, "it_admin")
        product = "永中Office" if org == "dept_b" else "WPS Office 2019"
        pool = await make_pool(licenses, admin, quantity=10, product=product)
        made = [await make_device(licenses, admin, f"RU-{org}-{n}") for n in range(devices)]
        for device in made[:seats]:
            await allocate(licenses, admin, pool["id"], device["id"])
    # The school reports its own, the department its subtree (the school's included), dept_b its own.
    await submitted(licenses, tree.actor("school_a1", "it_admin"), tree["school_a1"])
    await submitted(licenses, tree.actor("dept_a", "it_admin"), tree["dept_a"])
    dept_b = await drafted(licenses, tree.actor("dept_b", "it_admin"), tree["dept_b"])
    reader = tree.actor("province", "auditor")
    rollup = await read(licenses, reader, f"/annual-reports/rollup?org_id={tree['province'].id}&year={this_year()}")
    # A draft does not count; the school counts once, inside its department.
    assert rollup["reports"] == 1 and rollup["computers"] == {"total": 5, "desktop": 5, "laptop": 0, "server": 0}
    assert rollup["office"]["genuine"] == 3 and rollup["office"]["genuine_software"] == [
        {"name": "WPS Office 2019", "count": 3}]
    await submit(licenses, tree.actor("dept_b", "it_admin"), dept_b["id"])
    rollup = await read(licenses, reader, f"/annual-reports/rollup?org_id={tree['province'].id}&year={this_year()}")
    assert rollup["reports"] == 2 and rollup["computers"]["total"] == 9
    assert rollup["office"]["genuine"] == 4 and rollup["office"]["genuine_software"] == [
        {"name": "WPS Office 2019", "count": 3}, {"name": "永中Office", "count": 1}]
    assert "devices_without_license" not in rollup["office"]
    # The department's roll-up is the school's report.
    below = await read(licenses, reader, f"/annual-reports/rollup?org_id={tree['dept_a'].id}&year={this_year()}")
    assert below["reports"] == 1 and below["computers"]["total"] == 2 and below["office"]["genuine"] == 1
    empty = await read(licenses, reader, f"/annual-reports/rollup?org_id={tree['province'].id}&year={this_year() - 1}")
    assert empty["reports"] == 0 and empty["computers"]["total"] == 0 and empty["titles"] == []


async def test_racing_submissions_of_one_report_submit_it_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    for round_ in range(ROUNDS):
        report = await drafted(licenses, admin, tree["dept_a"], this_year() - round_)
        edits = [licenses.client.patch(f"{PREFIX}/annual-reports/{report['id']}", headers=admin.headers,
                                       json={"notes": f"n{i}"}) for i in range(2)]
        answers = await asyncio.gather(*(submit(licenses, admin, report["id"]) for _ in range(RACERS)))
        one_winner(answers)
        # An edit racing the submission either lands before it or answers 409, never after it.
        for resp in await asyncio.gather(*edits):
            assert resp.status_code in (200, 409), resp.text
        history = (await read(licenses, admin, f"/annual-reports/{report['id']}/history"))["items"]
        assert [h["action"] for h in history].count("submitted") == 1


async def test_the_rollup_of_two_thousand_units(licenses, tree):
    """A province of 2,000 reporting units (SPEC: under 1 s; figures in docs/performance.md)."""
    province = tree["province"]
    report = {"computers": {"total": 12, "desktop": 10, "laptop": 2, "server": 0},
              **{c: {"genuine": 9, "non_genuine": 3, "genuine_software": [{"name": "WPS Office 2019", "count": 9}],
                     "non_genuine_software": [{"name": "Microsoft Office 2016", "count": 3}]}
                 for c in ("os", "office", "antivirus", "business")},
              "titles": [{"title_id": str(uuid.UUID(int=n)), "name": f"title {n}", "category": "office",
                          "installed": 4, "genuine": 3, "non_genuine": 1} for n in range(20)]}
    now = utcnow()
    async with licenses.db.session() as session:
        await session.execute(sa.insert(AnnualReport), [dict(
            id=new_id(), org_id=new_id(), org_path=f"{province.path}{n:032x}/", year=this_year(),
            responsible_person="负责人", phone="1", status="submitted", snapshot=report, totals=report,
            submitted_at=now, late=False, created_by="test", created_at=now, updated_at=now) for n in range(2000)])
        await session.commit()
    reader = tree.actor("province", "auditor")
    started = time.perf_counter()
    rollup = await read(licenses, reader, f"/annual-reports/rollup?org_id={province.id}&year={this_year()}")
    elapsed = time.perf_counter() - started
    assert rollup["reports"] == 2000 and rollup["computers"]["total"] == 24_000
    assert rollup["office"]["non_genuine_software"] == [{"name": "Microsoft Office 2016", "count": 6000}]
    assert len(rollup["titles"]) == 20 and rollup["titles"][0]["installed"] == 8000
    print(f"roll-up of 2,000 reports: {elapsed * 1000:.0f} ms")
