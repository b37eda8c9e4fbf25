"""One user, one panel seat, whatever spelling its id is written in (issue 27: ids are canonical
at the edge)."""

from __future__ import annotations

import uuid

from tests.procurement.test_rules import to_panel


async def test_a_panel_member_written_in_two_spellings_is_one_member(scenario):
    await scenario.create()
    await to_panel(scenario)
    members = [str(m.subject) for m in scenario.panel]
    spelled = ["{" + uuid.UUID(members[0]).hex.upper() + "}", "urn:uuid:" + members[0]]
    # Three members, one of them three times: an odd panel of three, not an even one of five.
    await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, json={"member_user_ids": members + spelled})
    history = (await scenario.call("GET", f"{scenario.path}/history", scenario.lead))["items"]
    [entry] = [h for h in history if h["action"] == "panel_set"]
    assert entry["data"]["members"] == members
    refused = await scenario.call("POST", f"{scenario.path}/panel", scenario.lead, 422,
                                  json={"member_user_ids": [*members, "someone-else"]})
    assert refused["type"].endswith("/validation-error")
