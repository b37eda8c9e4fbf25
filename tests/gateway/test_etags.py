"""Two admins editing one org or user do not overwrite each other: GET answers an ETag, a PATCH
with a stale If-Match answers 412 and changes nothing; without If-Match it still applies."""

from __future__ import annotations

import asyncio

from tests.support.races import RACERS, ROUNDS

ID = "/api/v1/identity"


async def test_an_org_rename_with_a_stale_etag_is_refused(gateway, admin):
    root = (await gateway.client.get(f"{ID}/me", headers=admin)).json()["org_id"]
    org = (await gateway.client.post(f"{ID}/orgs", headers=admin,
                                     json={"name": "省教育厅", "kind": "unit", "parent_id": root})).json()
    path = f"{ID}/orgs/{org['id']}"
    read = await gateway.client.get(path, headers=admin)
    first = read.headers["etag"]
    assert first.startswith('"') and (await gateway.client.get(path, headers=admin)).headers["etag"] == first

    mine = await gateway.client.patch(path, headers={**admin, "If-Match": first}, json={"name": "省教育厅（新）"})
    assert mine.status_code == 200 and mine.json()["name"] == "省教育厅（新）" and mine.headers["etag"] != first
    theirs = await gateway.client.patch(path, headers={**admin, "If-Match": first}, json={"name": "省卫健委"})
    assert theirs.status_code == 412 and theirs.json()["type"].endswith("/precondition-failed")
    now = await gateway.client.get(path, headers=admin)
    assert now.json()["name"] == "省教育厅（新）" and now.headers["etag"] == mine.headers["etag"]

    # Not required: a PATCH without If-Match (or with *) applies to whatever version is there.
    assert (await gateway.client.patch(path, headers=admin, json={"name": "省卫健委"})).json()["name"] == "省卫健委"
    star = await gateway.client.patch(path, headers={**admin, "If-Match": "*"}, json={"name": "省教育厅"})
    assert star.status_code == 200 and star.json()["name"] == "省教育厅"


async def test_renames_racing_with_one_version_make_one_change(gateway, admin):
    root = (await gateway.client.get(f"{ID}/me", headers=admin)).json()["org_id"]
    for round_ in range(ROUNDS):
        org = (await gateway.client.post(f"{ID}/orgs", headers=admin,
                                         json={"name": f"单位{round_}", "kind": "unit", "parent_id": root})).json()
        path = f"{ID}/orgs/{org['id']}"
        tag = (await gateway.client.get(path, headers=admin)).headers["etag"]
        answers = await asyncio.gather(*(
            gateway.client.patch(path, headers={**admin, "If-Match": tag}, json={"name": f"单位{round_}-{n}"})
            for n in range(RACERS)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] + [412] * (RACERS - 1), [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()["name"]
        assert (await gateway.client.get(path, headers=admin)).json()["name"] == winner


async def test_a_user_change_with_a_stale_etag_is_refused_and_sign_ins_do_not_move_it(gateway, admin):
    root = (await gateway.client.get(f"{ID}/me", headers=admin)).json()["org_id"]
    made = await gateway.client.post(f"{ID}/users", headers=admin, json={
        "username": "wang", "password": "password-long-1", "org_id": root, "roles": ["staff"]})
    assert made.status_code == 201, made.text
    path = f"{ID}/users/{made.json()['id']}"
    first = (await gateway.client.get(path, headers=admin)).headers["etag"]
    # Each item of the list carries it too (the console's rows are edit forms), as does every answer.
    listed = (await gateway.client.get(f"{ID}/users", headers=admin, params={"q": "wang"})).json()["items"]
    assert [u["etag"] for u in listed] == [first] == [made.json()["etag"]]
    await gateway.client.post("/auth/token", data={"username": "wang", "password": "wrong-password"})
    assert (await gateway.client.get(path, headers=admin)).headers["etag"] == first

    mine = await gateway.client.patch(path, headers={**admin, "If-Match": first}, json={"display_name": "王老师"})
    assert mine.status_code == 200 and mine.json()["display_name"] == "王老师" and mine.headers["etag"] != first
    assert mine.json()["etag"] == mine.headers["etag"]
    theirs = await gateway.client.patch(path, headers={**admin, "If-Match": first}, json={"email": "w@x.cn"})
    assert theirs.status_code == 412 and theirs.json()["type"].endswith("/precondition-failed")
    now = (await gateway.client.get(path, headers=admin)).json()
    assert now["display_name"] == "王老师" and now["email"] is None
    free = await gateway.client.patch(path, headers=admin, json={"email": "w@x.cn"})
    assert free.status_code == 200 and free.json()["email"] == "w@x.cn"


async def test_user_changes_racing_with_one_version_make_one_change(gateway, admin):
    root = (await gateway.client.get(f"{ID}/me", headers=admin)).json()["org_id"]
    for round_ in range(ROUNDS):
        made = await gateway.client.post(f"{ID}/users", headers=admin, json={
            "username": f"li{round_}", "password": "password-long-1", "org_id": root, "roles": ["staff"]})
        path = f"{ID}/users/{made.json()['id']}"
        tag = (await gateway.client.get(path, headers=admin)).headers["etag"]
        answers = await asyncio.gather(*(
            gateway.client.patch(path, headers={**admin, "If-Match": tag}, json={"display_name": f"李{n}"})
            for n in range(RACERS)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] + [412] * (RACERS - 1), [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()["display_name"]
        assert (await gateway.client.get(path, headers=admin)).json()["display_name"] == winner
