"""Genuine per title, as the notices' inspections count it (SPEC Licenses, "Inspection as the
notices run it"): a seat makes only its own title genuine, free titles are genuine without one,
bundled titles only where the device records them, personal editions never; per category a
computer is genuine only when nothing non-genuine of it is installed; the license position per
title; and the survey form by name."""

from __future__ import annotations

import csv
import io

from kernel.ids import utcnow
from tests.licenses.conftest import PREFIX, allocate, make_device, make_pool

MS_OFFICE = "Microsoft Office Professional Plus 2016 - zh-cn"
WPS_PRO = "WPS Office 2019 专业版 (11.8.2.12085)"
WPS_PERSONAL = "WPS Office 2019 个人版"
SEVEN_ZIP = "7-Zip 19.00 (x64)"
UOS = "统信UOS 专业版 20"


async def titles_of(svc, actor, *names) -> list[dict]:
    resp = await svc.client.post(f"{PREFIX}/catalogue:recognize", headers=actor.headers,
                                 json={"entries": [{"name": name} for name in names]})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert None not in results, dict(zip(names, results, strict=True))
    return results


async def report(svc, actor, device, *names) -> None:
    resp = await svc.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=actor.headers,
                                 json={"software": [{"name": name} for name in names]})
    assert resp.status_code == 200, resp.text


async def compliance(svc, actor, org, **params) -> dict:
    resp = await svc.client.get(f"{PREFIX}/compliance", params={"org_id": str(org.id), **params},
                                headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def by_title(body: dict) -> dict[str, dict]:
    return {t["title_id"]: t for t in body["titles"]}


async def test_a_seat_makes_only_its_own_title_genuine(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    ms_office, wps, personal = await titles_of(licenses, admin, MS_OFFICE, WPS_PRO, WPS_PERSONAL)
    assert (ms_office["category"], wps["category"], personal["category"]) == ("office", "office", "office")
    assert (wps["licensing"], personal["licensing"]) == ("commercial", "personal_free")
    pool = await make_pool(licenses, admin, quantity=5, product="WPS Office 2019 专业版", title_id=wps["title_id"])
    assert pool["title_id"] == wps["title_id"]
    both, clean, home, spare = [await make_device(licenses, admin, f"G-{n}") for n in range(4)]
    await report(licenses, admin, both, WPS_PRO, MS_OFFICE)
    await report(licenses, admin, clean, WPS_PRO)
    await report(licenses, admin, home, WPS_PERSONAL)
    await report(licenses, admin, spare)
    before = utcnow()
    for device in (both, clean, spare):
        assert (await allocate(licenses, admin, pool["id"], device["id"])).status_code == 201

    body = await compliance(licenses, tree.actor("province", "auditor"), tree["dept_a"])
    office = body["office"]
    # The WPS seat does not make the Microsoft Office beside it genuine: G-0 is not genuine for
    # office; nor is a personal edition without a seat (G-2). G-3 holds a seat and runs nothing else.
    assert (office["genuine"], office["non_genuine"]) == (2, 2)
    # Each listed by the title its entries are recognized as.
    assert [(d["asset_tag"], d["software"]) for d in office["devices_without_license"]] == [
        ("G-0", [ms_office["name"]]), ("G-2", [personal["name"]])]
    assert office["non_genuine_software"] == sorted([{"name": ms_office["name"], "count": 1},
                                                     {"name": personal["name"], "count": 1}],
                                                    key=lambda s: s["name"])
    assert office["genuine_software"] == [{"name": "WPS Office 2019 专业版", "count": 3}]
    titles = by_title(body)
    assert {k: titles[wps["title_id"]][k] for k in ("installed", "genuine", "non_genuine", "entitled", "allocated",
                                                    "idle")} == {
        "installed": 2, "genuine": 2, "non_genuine": 0, "entitled": 5, "allocated": 3, "idle": 1}
    assert {k: titles[ms_office["title_id"]][k] for k in ("installed", "genuine", "non_genuine", "entitled")} == {
        "installed": 1, "genuine": 0, "non_genuine": 1, "entitled": 0}
    assert titles[personal["title_id"]]["non_genuine"] == 1
    assert set(titles[wps["title_id"]]) == {"title_id", "vendor", "name", "category", "installed", "genuine",
                                            "non_genuine", "entitled", "allocated", "idle"}

    # Before the seats were taken nothing of office was genuine, and the pool's seats were all idle-free.
    past = await compliance(licenses, admin, tree["dept_a"], as_of=before.isoformat())
    assert (past["office"]["genuine"], past["office"]["non_genuine"]) == (0, 3)
    assert {k: by_title(past)[wps["title_id"]][k] for k in ("genuine", "non_genuine", "allocated", "idle")} == {
        "genuine": 0, "non_genuine": 2, "allocated": 0, "idle": 0}
    assert "titles" in await compliance(licenses, admin, tree["dept_a"], as_of="2020-01-01")


async def test_free_titles_are_genuine_without_a_seat_and_bundled_ones_only_where_recorded(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    seven_zip, uos = await titles_of(licenses, admin, SEVEN_ZIP, UOS)
    assert (seven_zip["licensing"], uos["licensing"], uos["category"]) == ("free", "bundled", "os")
    oem = (await licenses.client.post(f"{PREFIX}/devices", headers=admin.headers, json={
        "org_id": str(tree["dept_a"].id), "asset_tag": "B-1", "hostname": "oem", "kind": "laptop",
        "bundled_title_ids": [uos["title_id"]]}))
    assert oem.status_code == 201, oem.text
    oem = oem.json()
    plain = await make_device(licenses, admin, "B-2")
    await report(licenses, admin, oem, UOS, SEVEN_ZIP)
    await report(licenses, admin, plain, UOS, SEVEN_ZIP)

    body = await compliance(licenses, admin, tree["dept_a"])
    assert (body["os"]["genuine"], body["os"]["non_genuine"]) == (1, 1)
    assert [d["asset_tag"] for d in body["os"]["devices_without_license"]] == ["B-2"]
    assert body["os"]["genuine_software"] == [{"name": uos["name"], "count": 1}]
    titles = by_title(body)
    assert (titles[seven_zip["title_id"]]["genuine"], titles[seven_zip["title_id"]]["non_genuine"]) == (2, 0)
    assert (titles[uos["title_id"]]["genuine"], titles[uos["title_id"]]["non_genuine"]) == (1, 1)

    unknown = await licenses.client.post(f"{PREFIX}/devices", headers=admin.headers, json={
        "org_id": str(tree["dept_a"].id), "asset_tag": "B-3", "hostname": "x", "kind": "laptop",
        "bundled_title_ids": ["0190d6a2-0000-7000-8000-000000000000"]})
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("/unknown-title")


async def test_a_free_title_in_a_form_category_makes_the_computer_genuine(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    resp = await licenses.client.post(f"{PREFIX}/catalogue", headers=admin.headers, json={
        "vendor": "某开源社区", "name": "自由办公套件", "category": "office", "licensing": "free",
        "patterns": ["自由办公套件"]})
    assert resp.status_code == 201, resp.text
    device = await make_device(licenses, admin, "F-1")
    await report(licenses, admin, device, "自由办公套件 7.5")
    office = (await compliance(licenses, admin, tree["dept_a"]))["office"]
    assert (office["genuine"], office["non_genuine"]) == (1, 0)
    assert office["genuine_software"] == [{"name": "自由办公套件", "count": 1}]


async def test_the_survey_form_names_genuine_and_non_genuine_software_with_counts(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    ms_office, wps = await titles_of(licenses, admin, MS_OFFICE, WPS_PRO)
    pool = await make_pool(licenses, admin, quantity=5, product="WPS Office 2019 专业版", title_id=wps["title_id"])
    first, second = [await make_device(licenses, admin, f"S-{n}") for n in range(2)]
    await report(licenses, admin, first, WPS_PRO)
    await report(licenses, admin, second, WPS_PRO, MS_OFFICE)
    await allocate(licenses, admin, pool["id"], first["id"])

    resp = await licenses.client.get(f"{PREFIX}/compliance.csv", params={"org_id": str(tree["dept_a"].id)},
                                     headers=admin.headers)
    assert resp.status_code == 200, resp.text
    rows = {row[0]: row for row in csv.reader(io.StringIO(resp.content.decode("utf-8-sig")))}
    assert rows["办公软件"][1:5] == ["WPS Office 2019 专业版（1）", "1",
                                 "、".join(f"{n}（1）" for n in sorted([ms_office["name"], wps["name"]])), "1"]
    assert "S-1" in rows["办公软件"][5]


async def test_a_title_reported_twice_on_a_computer_counts_once(licenses, tree):
    admin = tree.actor("dept_a", "it_admin")
    twice = ("WPS Office 2019 专业版 (11.8.2.12085)", "WPS Office 2019 专业版 (11.8.2.10000)",
             "WinRAR 6.02 (64-bit)", "WinRAR 5.61 (32-bit)")
    wps, wps_again, winrar, winrar_again = await titles_of(licenses, admin, *twice)
    assert (wps, winrar) == (wps_again, winrar_again) and winrar["licensing"] == "commercial"
    device = await make_device(licenses, admin, "D-1")
    await report(licenses, admin, device, *twice)

    body = await compliance(licenses, admin, tree["dept_a"])
    office = body["office"]
    assert (office["genuine"], office["non_genuine"]) == (0, 1)
    assert [(d["asset_tag"], d["software"]) for d in office["devices_without_license"]] == [("D-1", [wps["name"]])]
    assert office["non_genuine_software"] == [{"name": wps["name"], "count": 1}]
    titles = by_title(body)
    assert [(titles[t["title_id"]]["installed"], titles[t["title_id"]]["non_genuine"]) for t in (wps, winrar)] == [
        (1, 1), (1, 1)]
    assert sorted((u["asset_tag"], u["title_id"], u["category"]) for u in body["unapproved_installs"]) == sorted([
        ("D-1", wps["title_id"], "office"), ("D-1", winrar["title_id"], winrar["category"])])
