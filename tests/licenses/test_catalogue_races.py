"""The same catalogue change sent several times at once takes effect once (SPEC Guarantees): of
identical `POST /catalogue` the first to commit adds the title and the others answer 409
`duplicate-title`; of identical `POST /catalogue/{id}/patterns` one adds the pattern and the others
answer 409 `duplicate-pattern` — the unique keys (the title's `key`, the pattern's (title, pattern))
decide, on PostgreSQL by the loser waiting on the winner's index entry. Nothing answers 5xx, and
the title, its patterns, its history and the catalogue's revision each show one change."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from services.licenses.catalogue.models import CatalogueRevision
from tests.licenses.conftest import PREFIX
from tests.licenses.test_catalogue import IN_HOUSE, add_title
from tests.support.races import RACERS, ROUNDS, one_winner


async def revision(licenses) -> int:
    async with licenses.db.session() as session:
        return (await session.execute(sa.select(CatalogueRevision.revision))).scalar_one()


async def title_now(licenses, actor, title_id: str) -> tuple[dict, list[str]]:
    """The title as the catalogue gives it, and the actions of its history."""
    title = await licenses.client.get(f"{PREFIX}/catalogue/{title_id}", headers=actor.headers)
    assert title.status_code == 200, title.text
    history = await licenses.client.get(f"{PREFIX}/catalogue/{title_id}/history", headers=actor.headers)
    assert history.status_code == 200, history.text
    return title.json(), [entry["action"] for entry in history.json()["items"]]


async def test_the_same_title_added_at_once_is_added_once(licenses, tree):
    admin = tree.actor("school_a1", "it_admin")
    for round_ in range(ROUNDS):
        body = {**IN_HOUSE, "name": f"档案管理系统{round_}号", "patterns": [f"档案管理系统{round_}号"]}
        before = await revision(licenses)
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/catalogue", headers=admin.headers, json=body) for _ in range(RACERS)))
        won = one_winner(answers, slug="duplicate-title", winners=(201,)).json()
        assert all(body["name"] in a.json()["detail"] for a in answers if a.status_code == 409)
        listed = await licenses.client.get(f"{PREFIX}/catalogue", params={"q": body["name"]}, headers=admin.headers)
        assert [(t["id"], t["patterns"]) for t in listed.json()["items"]] == [(won["id"], body["patterns"])]
        title, actions = await title_now(licenses, admin, won["id"])
        assert (title["name"], title["patterns"], actions) == (body["name"], body["patterns"], ["created"])
        assert await revision(licenses) == before + 1


async def test_the_same_pattern_added_at_once_is_added_once(licenses, tree):
    admin = tree.actor("school_a1", "it_admin")
    title_id = (await add_title(licenses, admin, name="公文交换系统", patterns=["公文交换系统"]))["id"]
    for round_ in range(ROUNDS):
        pattern = f"公文交换客户端{round_}"
        before = await revision(licenses)
        answers = await asyncio.gather(*(
            licenses.client.post(f"{PREFIX}/catalogue/{title_id}/patterns", headers=admin.headers,
                                 json={"pattern": pattern}) for _ in range(RACERS)))
        won = one_winner(answers, slug="duplicate-pattern", winners=(200,)).json()
        assert won["patterns"].count(pattern) == 1
        assert all(pattern in a.json()["detail"] for a in answers if a.status_code == 409)
        title, actions = await title_now(licenses, admin, title_id)
        assert title["patterns"] == ["公文交换系统", *(f"公文交换客户端{n}" for n in range(round_ + 1))]
        assert actions == ["created", *["pattern_added"] * (round_ + 1)]
        assert await revision(licenses) == before + 1
