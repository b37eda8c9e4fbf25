"""The software catalogue: listing it, extending it (who may, and what a pattern may be), its
history, recognizing raw names without recording anything, the unrecognized queue, and the latest
inventories recognized again after a new pattern."""

from __future__ import annotations

import pytest

from tests.licenses.conftest import PREFIX, make_device
from tests.support.apps import eventually

IN_HOUSE = {"vendor": "某某信息技术有限公司", "name": "公文流转系统", "category": "business", "licensing": "commercial"}


@pytest.fixture
async def licenses(start_service):
    # The re-recognition job looks for a changed catalogue every half second here (10 s by default).
    return await start_service("licenses", recognition_interval_seconds=0.5)


async def recognize(svc, actor, *entries) -> list:
    resp = await svc.client.post(f"{PREFIX}/catalogue:recognize", headers=actor.headers,
                                 json={"entries": [e if isinstance(e, dict) else {"name": e} for e in entries]})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


async def add_title(svc, actor, **fields) -> dict:
    resp = await svc.client.post(f"{PREFIX}/catalogue", headers=actor.headers, json={**IN_HOUSE, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_the_shipped_catalogue_is_listed_and_searched(licenses, tree):
    reader = tree.actor("school_a1", "auditor")
    page = (await licenses.client.get(f"{PREFIX}/catalogue", params={"limit": 200}, headers=reader.headers)).json()
    assert page["items"], page
    assert set(page["items"][0]) == {"id", "vendor", "name", "category", "edition", "licensing", "domestic", "patterns"}
    assert all(item["patterns"] for item in page["items"])
    wps = (await licenses.client.get(f"{PREFIX}/catalogue", params={"q": "wps", "category": "office"},
                                     headers=reader.headers)).json()["items"]
    assert wps and all("wps" in (t["name"] + t["vendor"]).lower() and t["category"] == "office" for t in wps)
    assert {t["licensing"] for t in wps} >= {"commercial", "personal_free"}
    bad = await licenses.client.get(f"{PREFIX}/catalogue", params={"category": "games"}, headers=reader.headers)
    assert bad.status_code == 422


async def test_it_admins_extend_the_catalogue_with_history_and_others_may_not(licenses, tree):
    it_admin = tree.actor("school_a1", "it_admin")
    title = await add_title(licenses, it_admin, patterns=["公文流转系统"])
    assert (title["name"], title["licensing"], title["edition"], title["domestic"]) == (
        "公文流转系统", "commercial", None, False)
    assert len(title["patterns"]) == 1

    again = await licenses.client.post(f"{PREFIX}/catalogue", headers=it_admin.headers, json=IN_HOUSE)
    assert again.status_code == 409 and again.json()["type"].endswith("/duplicate-title")

    for roles in (("finance",), ("auditor",)):
        actor = tree.actor("dept_a", *roles)
        resp = await licenses.client.post(f"{PREFIX}/catalogue", headers=actor.headers,
                                          json={**IN_HOUSE, "name": "另一个系统"})
        assert resp.status_code == 403, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        resp = await licenses.client.post(f"{PREFIX}/catalogue/{title['id']}/patterns", headers=actor.headers,
                                          json={"pattern": "公文流转"})
        assert resp.status_code == 403, resp.text
    admin = tree.actor("province", "admin")
    added = await licenses.client.post(f"{PREFIX}/catalogue/{title['id']}/patterns", headers=admin.headers,
                                       json={"pattern": "公文流转 v2"})
    assert added.status_code == 200, added.text
    assert len(added.json()["patterns"]) == 2
    twice = await licenses.client.post(f"{PREFIX}/catalogue/{title['id']}/patterns", headers=admin.headers,
                                       json={"pattern": "公文流转 v2"})
    assert twice.status_code == 409 and twice.json()["type"].endswith("/duplicate-pattern")
    missing = await licenses.client.post(f"{PREFIX}/catalogue/0190d6a2-0000-7000-8000-000000000000/patterns",
                                         headers=admin.headers, json={"pattern": "x y z"})
    assert missing.status_code == 404

    history = (await licenses.client.get(f"{PREFIX}/catalogue/{title['id']}/history",
                                         headers=tree.actor("dept_b", "auditor").headers)).json()["items"]
    assert [entry["action"] for entry in history] == ["created", "pattern_added"]
    assert history[0]["actor"] == f"user:{it_admin.subject}"
    assert history[1]["data"] == {"pattern": added.json()["patterns"][1]}


@pytest.mark.parametrize("pattern", ["", ".*", "   "])
async def test_a_pattern_that_would_match_everything_is_refused(licenses, tree, pattern):
    it_admin = tree.actor("dept_a", "it_admin")
    title = await add_title(licenses, it_admin)
    resp = await licenses.client.post(f"{PREFIX}/catalogue/{title['id']}/patterns", headers=it_admin.headers,
                                      json={"pattern": pattern})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    with_it = await licenses.client.post(f"{PREFIX}/catalogue", headers=it_admin.headers,
                                         json={**IN_HOUSE, "name": "另一个系统", "patterns": [pattern]})
    assert with_it.status_code == 422, with_it.text
    # Nothing half-written: the title with the bad pattern was not added.
    listed = (await licenses.client.get(f"{PREFIX}/catalogue", params={"q": "另一个系统"},
                                        headers=it_admin.headers)).json()["items"]
    assert listed == []


async def test_recognize_answers_in_order_and_records_nothing(licenses, tree):
    it_admin = tree.actor("dept_a", "it_admin")
    title = await add_title(licenses, it_admin, patterns=["公文流转系统"])
    results = await recognize(licenses, tree.actor("dept_a", "auditor"),
                              {"name": "公文流转系统 V3.2 (x64)", "vendor": "某某信息技术有限公司", "version": "3.2"},
                              "某个谁也不认识的小工具", {"name": "ＷＰＳ Office 2019 专业版 (11.8.2.12085)"})
    assert len(results) == 3
    assert results[0] == {"title_id": title["id"], "vendor": IN_HOUSE["vendor"], "name": "公文流转系统",
                          "category": "business", "licensing": "commercial"}
    assert results[1] is None
    assert results[2] is not None and results[2]["category"] == "office" and results[2]["licensing"] == "commercial"
    too_many = await licenses.client.post(f"{PREFIX}/catalogue:recognize", headers=it_admin.headers,
                                          json={"entries": [{"name": "x"}] * 1001})
    assert too_many.status_code == 422
    history = (await licenses.client.get(f"{PREFIX}/catalogue/{title['id']}/history",
                                         headers=it_admin.headers)).json()["items"]
    assert [entry["action"] for entry in history] == ["created"]


async def report(svc, actor, device, *software) -> dict:
    resp = await svc.client.post(f"{PREFIX}/devices/{device['id']}/inventory", headers=actor.headers,
                                 json={"software": [s if isinstance(s, dict) else {"name": s} for s in software]})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def unrecognized(svc, actor, org, **params) -> dict:
    resp = await svc.client.get(f"{PREFIX}/inventory/unrecognized", params={"org_id": str(org.id), **params},
                                headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_the_unrecognized_queue_and_recognition_again_after_a_new_pattern(licenses, tree):
    it_admin = tree.actor("dept_a", "it_admin")
    first, second, third = [await make_device(licenses, it_admin, f"U-{n}") for n in range(3)]
    other = await make_device(licenses, tree.actor("dept_b", "it_admin"), "U-B")
    tool = {"name": "档案扫描助手 2.1", "vendor": "本单位信息中心"}
    recognized = await report(licenses, it_admin, first, tool, "ＷＰＳ Office 2019 专业版 (11.8.2.12085)",
                              "Security Update for Microsoft Office 2016 (KB5002058) 64-Bit Edition")
    assert recognized["software"][0]["title_id"] is None
    assert recognized["software"][1]["title_id"] is not None
    await report(licenses, it_admin, second, tool, "内部考勤工具")
    await report(licenses, it_admin, third, "内部考勤工具", tool)
    await report(licenses, tree.actor("dept_b", "it_admin"), other, tool)

    queue = await unrecognized(licenses, tree.actor("dept_a", "auditor"), tree["dept_a"])
    # Most devices first; the other department's device is not counted, and the update is not a product.
    assert queue["items"] == [{"name": "档案扫描助手 2.1", "vendor": "本单位信息中心", "devices": 3},
                              {"name": "内部考勤工具", "vendor": None, "devices": 2}]
    paged = await unrecognized(licenses, it_admin, tree["dept_a"], limit=1)
    assert [i["name"] for i in paged["items"]] == ["档案扫描助手 2.1"] and paged["next_cursor"]
    rest = await unrecognized(licenses, it_admin, tree["dept_a"], limit=1, cursor=paged["next_cursor"])
    assert [i["name"] for i in rest["items"]] == ["内部考勤工具"] and rest["next_cursor"] is None
    foreign = await licenses.client.get(f"{PREFIX}/inventory/unrecognized", params={"org_id": str(tree["dept_a"].id)},
                                        headers=tree.actor("dept_b", "it_admin").headers)
    assert foreign.status_code == 404

    title = await add_title(licenses, it_admin, name="档案扫描助手", vendor="本单位信息中心", category="other",
                            licensing="free")
    resp = await licenses.client.post(f"{PREFIX}/catalogue/{title['id']}/patterns", headers=it_admin.headers,
                                      json={"pattern": "档案扫描助手"})
    assert resp.status_code == 200, resp.text

    async def mapped():
        queue = await unrecognized(licenses, it_admin, tree["dept_a"])
        return queue["items"] == [{"name": "内部考勤工具", "vendor": None, "devices": 2}]

    await eventually(mapped, timeout=30)
    latest = (await licenses.client.get(f"{PREFIX}/devices/{first['id']}/inventory", headers=it_admin.headers)).json()
    assert latest["software"][0]["title_id"] == title["id"]
    assert (await unrecognized(licenses, tree.actor("dept_b", "auditor"), tree["dept_b"]))["items"] == []
