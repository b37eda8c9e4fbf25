"""Two people editing one object do not overwrite each other: GET answers an ETag, a PUT or PATCH
with a stale If-Match is 412, a policy PUT without one is 428, and a PUT takes its GET's body."""

from __future__ import annotations

import asyncio

from tests.budget.conftest import PREFIX, draft_line
from tests.support.apps import put_as_read


async def test_a_stale_patch_of_a_line_is_412_and_a_fresh_one_goes_through(budget, tree):
    editor = tree.actor("dept_a", "budget_editor")
    line = await draft_line(budget, editor)
    path = f"{PREFIX}/lines/{line['id']}"
    read = await budget.client.get(path, headers=editor.headers)
    first = read.headers["etag"]
    assert first.startswith('"') and (await budget.client.get(path, headers=editor.headers)).headers["etag"] == first

    mine = await budget.client.patch(path, headers={**editor.headers, "If-Match": first}, json={"quantity": 4})
    assert mine.status_code == 200 and mine.json()["quantity"] == 4 and mine.headers["etag"] != first
    theirs = await budget.client.patch(path, headers={**editor.headers, "If-Match": first}, json={"quantity": 9})
    assert theirs.status_code == 412 and theirs.json()["type"].endswith("/precondition-failed")
    assert (await budget.client.get(path, headers=editor.headers)).json()["quantity"] == 4  # not overwritten
    again = await budget.client.patch(path, headers={**editor.headers, "If-Match": mine.headers["etag"]},
                                      json={"quantity": 9})
    assert again.status_code == 200 and again.json()["quantity"] == 9
    # Without If-Match a PATCH is as before (scripts that do not care keep working).
    assert (await budget.client.patch(path, headers=editor.headers, json={"quantity": 5})).status_code == 200


async def test_a_policy_put_needs_if_match_refuses_a_stale_one_and_takes_its_gets_body(budget, tree):
    finance = tree.actor("province", "finance")
    path = f"{PREFIX}/policies/{tree['dept_a'].id}"
    missing = await budget.client.put(path, headers=finance.headers, json={"standstill_days": 3})
    assert missing.status_code == 428 and missing.json()["type"].endswith("/if-match-required")

    read = await budget.client.get(path, headers=finance.headers)
    body = read.json() | {"standstill_days": 3}
    saved = await budget.client.put(path, headers={**finance.headers, "If-Match": read.headers["etag"]}, json=body)
    assert saved.status_code == 200, saved.text  # the GET's own body, read-only fields and all
    assert saved.json()["standstill_days"] == 3 and saved.json()["inherited"] is False
    stale = await budget.client.put(path, headers={**finance.headers, "If-Match": read.headers["etag"]},
                                    json={"standstill_days": 5})
    assert stale.status_code == 412
    assert (await budget.client.get(path, headers=finance.headers)).json()["standstill_days"] == 3
    # An ancestor's change is a new version of the effective policy, too.
    before = saved.headers["etag"]
    await put_as_read(budget.client, f"{PREFIX}/policies/{tree['province'].id}", headers=finance.headers,
                      json={"caps": {"office": 50_000}})
    assert (await budget.client.get(path, headers=finance.headers)).headers["etag"] != before


async def test_two_saves_of_one_version_make_one_change(budget, tree):
    finance = tree.actor("province", "finance")
    for org in ("dept_a", "dept_b"):  # over an own document, and over none yet
        path = f"{PREFIX}/policies/{tree[org].id}"
        if org == "dept_a":
            await put_as_read(budget.client, path, headers=finance.headers, json={"standstill_days": 2})
        tag = (await budget.client.get(path, headers=finance.headers)).headers["etag"]
        answers = await asyncio.gather(*(budget.client.put(path, headers={**finance.headers, "If-Match": tag},
                                                           json={"standstill_days": 10 + n}) for n in range(4)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 412, 412, 412], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()["standstill_days"]
        assert (await budget.client.get(path, headers=finance.headers)).json()["standstill_days"] == winner
