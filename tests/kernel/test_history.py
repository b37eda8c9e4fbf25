"""History entries know their audience, an entry recorded without one is the owners' alone (it
fails closed), and a history reads one page at a time."""

from __future__ import annotations

from kernel import history
from kernel.db import Database
from kernel.ids import new_id


async def test_each_reader_reads_the_entries_addressed_to_it_page_by_page(databases):
    db = Database(await databases.fresh("budget"))
    object_id, supplier, other = new_id(), new_id(), new_id()
    try:
        async with db.session() as session, session.begin():
            await history.record(session, "campaign", object_id, "created", "user:lead", audience=history.EVERYONE)
            await history.record(session, "campaign", object_id, "unsaid", "user:lead")  # no audience: owners
            await history.record(session, "campaign", object_id, "offer_submitted", "user:s",
                                 audience=[history.org_token(supplier)])
            await history.record(session, "campaign", object_id, "evaluated", "user:p", audience=["panel"])
            await history.record(session, "campaign", object_id, "noted", "user:lead", audience=history.OWNERS)
            await history.record(session, "campaign", object_id, "noted", "user:lead", audience=[])

        async def actions(readers, limit=2):
            seen, cursor = [], None
            async with db.session() as session:
                while True:
                    page = await history.history_page(session, object_id, cursor=cursor, limit=limit,
                                                      readers=readers)
                    assert len(page.items) <= limit
                    seen += [e.action for e in page.items]
                    if page.next_cursor is None:
                        return seen
                    cursor = page.next_cursor

        assert await actions(None) == ["created", "unsaid", "offer_submitted", "evaluated", "noted", "noted"]
        assert await actions(None, limit=6) == ["created", "unsaid", "offer_submitted", "evaluated", "noted", "noted"]
        assert await actions({history.org_token(supplier)}) == ["created", "offer_submitted"]
        assert await actions({history.org_token(other)}) == ["created"]
        assert await actions({"panel", history.org_token(other)}) == ["created", "evaluated"]
        assert await actions(set()) == ["created"]
    finally:
        await db.dispose()


def test_ids_made_in_one_millisecond_still_sort_in_the_order_they_were_made():
    made = [new_id() for _ in range(20_000)]  # many per millisecond
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {i.version for i in made} == {7}
