"""The kernel's one mechanism for state changes, on a small table of its own in a real database:
racing commands have one winner, the losers get 409 with the current status, and only the winner's
history entry and event are written."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from kernel.db import Database, make_metadata
from kernel.errors import Conflict
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from kernel.schema import history, outbox
from kernel.transitions import Change, Note, StateMachine

metadata = make_metadata()
switches = sa.Table(
    "test_switches", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("note", sa.String(100)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
SWITCH = StateMachine("switch", switches, ("off", "on", "broken"), {
    "turn_on": ("off", "on"),
    "turn_off": ("on", "off"),
    "break": ("off", "broken", "broke"),
    "label": (("off", "on"), None, "labelled"),
})


# An aggregate without a status: its plain edits go through the same statement, history and outbox.
labels = sa.Table(
    "test_labels", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("text", sa.String(100)),
)
LABEL = StateMachine("label", labels, (), {"rename": (None, None, "renamed")}, status_column=None)


class Flipped(BaseModel):
    switch_id: uuid.UUID


@pytest.fixture
async def db(databases):
    database = Database(await databases.fresh("budget"))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def new_switch(db: Database, status: str = "off") -> uuid.UUID:
    switch_id = new_id()
    async with db.session() as session, session.begin():
        await session.execute(sa.insert(switches).values(id=switch_id, status=status, updated_at=utcnow()))
    return switch_id


async def command(db: Database, name: str, switch_id: uuid.UUID, **values) -> str:
    async with db.session() as session:
        try:
            await SWITCH.apply(session, name, switch_id, Note("user:test", {"by": name}),
                               Change(values, events=[new_event("test.switch.flipped", Flipped(switch_id=switch_id),
                                                                source="test", about=switch_id)]))
        except Conflict as exc:
            await session.rollback()
            assert exc.slug == "invalid-status" and exc.extensions["command"] == name
            return f"409:{exc.extensions['status_now']}"
        await session.commit()
        return "ok"


async def effects(db: Database, switch_id: uuid.UUID) -> tuple[str, list[str], int]:
    async with db.session() as session:
        status = (await session.execute(sa.select(switches.c.status).where(switches.c.id == switch_id))).scalar()
        actions = (await session.execute(sa.select(history.c.action).where(history.c.object_id == switch_id)
                                         .order_by(history.c.at))).scalars().all()
        events = (await session.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.payload.contains(str(switch_id))))).scalar()
    return status, list(actions), events


def test_the_table_refuses_states_it_does_not_know():
    with pytest.raises(ValueError, match="melted"):
        StateMachine("switch", switches, ("off", "on"), {"melt": ("on", "melted")})
    assert SWITCH["break"].action == "broke" and SWITCH["turn_on"].action == "turned_on"
    assert {"command": "label", "from": ["off", "on"], "to": None} in SWITCH.describe()


def test_require_refuses_early_with_the_current_status():
    with pytest.raises(Conflict) as refused:
        SWITCH.require("turn_off", "off")
    assert refused.value.status == 409 and refused.value.extensions["status_now"] == "off"
    assert refused.value.extensions["allowed_from"] == ["on"]


async def test_racing_commands_take_effect_once(db):
    for _ in range(3):
        switch_id = await new_switch(db)
        answers = await asyncio.gather(*(command(db, "turn_on" if i % 2 else "break", switch_id) for i in range(10)))
        assert answers.count("ok") == 1, answers
        status, actions, events = await effects(db, switch_id)
        assert all(a == f"409:{status}" for a in answers if a != "ok")
        assert actions == ["turned_on" if status == "on" else "broke"] and events == 1


async def test_a_command_keeping_the_status_is_still_refused_once_the_status_moved(db):
    switch_id = await new_switch(db, "broken")
    assert await command(db, "label", switch_id, note="kitchen") == "409:broken"
    switch_id = await new_switch(db)
    assert await command(db, "label", switch_id, note="kitchen") == "ok"
    status, actions, events = await effects(db, switch_id)
    assert (status, actions, events) == ("off", ["labelled"], 1)


async def test_a_failed_extra_condition_answers_the_given_conflict(db):
    switch_id = await new_switch(db)
    async with db.session() as session:
        with pytest.raises(Conflict) as refused:
            await SWITCH.apply(session, "turn_on", switch_id, Note("user:test"),
                               Change(where=[switches.c.note == "x"],
                                      refused=Conflict("needs a note", slug="needs-note")))
    assert refused.value.slug == "needs-note"


async def test_an_aggregate_without_a_status_is_edited_by_the_same_compare_and_set(db):
    label_id = new_id()
    async with db.session() as session, session.begin():
        await session.execute(sa.insert(labels).values(id=label_id, text="a"))
    async with db.session() as session:
        await LABEL.apply(session, "rename", label_id, Note("user:test", {"text": "b"}),
                          Change({"text": "b"}, where=[labels.c.text == "a"],
                                 events=[new_event("test.label.renamed", Flipped(switch_id=label_id), source="test",
                                                   about=label_id)]))
        await session.commit()
    async with db.session() as session:
        # Holding the version read ("a"), a second rename loses with the error it names.
        with pytest.raises(Conflict) as lost:
            await LABEL.apply(session, "rename", label_id, Note("user:test"),
                              Change({"text": "c"}, where=[labels.c.text == "a"],
                                     refused=Conflict("renamed meanwhile", slug="renamed-meanwhile")))
        assert lost.value.slug == "renamed-meanwhile"
    async with db.session() as session:
        assert (await session.execute(sa.select(labels.c.text).where(labels.c.id == label_id))).scalar() == "b"
        actions = (await session.execute(sa.select(history.c.action).where(history.c.object_id == label_id))).all()
        sent = (await session.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.payload.contains(str(label_id))))).scalar()
    assert [a for (a,) in actions] == ["renamed"] and sent == 1
    with pytest.raises(ValueError):
        StateMachine("label", labels, (), {"rename": ("a", None)}, status_column=None)


def test_every_race_the_reliability_doc_names_is_a_test_that_exists():
    """docs/reliability.md's race table names its tests; each must be there to back its row."""
    root = Path(__file__).resolve().parents[2]
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", (root / "docs" / "reliability.md").read_text())
    assert len(named) >= 15
    for path, test in named:
        assert re.search(rf"^(async )?def {test}\(", (root / path).read_text(), re.MULTILINE), test
