"""The pieces bulk use-cases write with: ids in batches, events encoded at once, rows inserted in one
statement (INSERT … SELECT FROM unnest on PostgreSQL), and IN lists of any length."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from kernel.contracts import SeatAllocated
from kernel.db import IN_CHUNK, Database, among, insert_rows
from kernel.events import Event, new_event, new_events
from kernel.ids import new_id, new_ids, utcnow
from kernel.schema import outbox


def test_ids_made_in_a_batch_are_version_7_and_keep_increasing():
    before, batch, after = new_id(), new_ids(1_000), new_id()
    assert before < batch[0] and batch[-1] < after
    assert batch == sorted(set(batch))
    assert {i.version for i in batch} == {7} and {i.variant for i in batch} == {uuid.RFC_4122}
    # The same values, hashes and text as ids parsed the ordinary way.
    assert [uuid.UUID(str(i)) for i in batch] == batch and hash(uuid.UUID(str(batch[7]))) == hash(batch[7])


def test_events_encoded_at_once_are_the_envelope_new_event_writes():
    about = new_ids(3)
    data = [dict(allocation_id=a, pool_id=about[0], org_id=about[1], assignee_type="device",
                 assignee_id=f"设备-\"{n}\"") for n, a in enumerate(about)]
    encoded = new_events("licenses.seat.allocated", SeatAllocated, data, source="zhengban/licenses", about=about)
    one = new_event("licenses.seat.allocated", SeatAllocated(**data[1]), source="zhengban/licenses",
                    about=about[1]).encoded()
    written, expected = json.loads(encoded[1].payload), json.loads(one.payload)
    assert list(written) == list(expected)
    assert {k for k in written if written[k] != expected[k]} == {"id", "time"}
    assert encoded[1].nats_subject == one.nats_subject == "licenses.seat.allocated"
    assert len({e.id for e in encoded}) == 3 and all(str(e.id) == json.loads(e.payload)["id"] for e in encoded)
    event = Event.model_validate_json(encoded[2].payload)
    assert event.subject == str(about[2]) and event.payload(SeatAllocated).assignee_id == '设备-"2"'


async def test_rows_go_in_at_once_conflicts_are_skipped_and_found_again(databases):
    db = Database(await databases.fresh("budget"))
    now = utcnow()
    try:
        ids = new_ids(IN_CHUNK * 2 + 7)  # more than one IN list where there is no array parameter
        async with db.session() as session, session.begin():
            # One subject and one time for all (single values), ids and payloads per row (arrays).
            rows = [{"event_id": i, "subject": "a.b", "payload": f"{{\"n\": {n}}}", "created_at": now}
                    for n, i in enumerate(ids)]
            written = (await insert_rows(session, outbox, rows, returning=outbox.c.event_id)).scalars().all()
            assert sorted(written) == ids
            # A single row, and rows of which one meets the unique event id: skipped, not an error.
            await insert_rows(session, outbox, [{**rows[0], "event_id": new_id()}])
            again = [{**rows[0], "event_id": new_id()}, rows[1], {**rows[2], "event_id": new_id()}]
            written = (await insert_rows(session, outbox, again, skip_conflicts=True,
                                         returning=outbox.c.event_id)).scalars().all()
            assert sorted(written) == sorted([again[0]["event_id"], again[2]["event_id"]])
        async with db.session() as session:
            found = {}
            for condition in among(session, outbox.c.event_id, ids):
                found.update((await session.execute(sa.select(outbox.c.event_id, outbox.c.payload)
                                                    .where(condition))).all())
            assert sorted(found) == ids and found[ids[-1]] == f"{{\"n\": {len(ids) - 1}}}"
            assert among(session, outbox.c.event_id, []) == []
            total = await session.scalar(sa.select(sa.func.count()).select_from(outbox))
            assert total == len(ids) + 3
    finally:
        await db.dispose()
