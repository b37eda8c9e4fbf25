"""One way to change an aggregate's state: a declared transition table, applied as a compare-and-set.

Each aggregate declares, per command, the states it may start from and the state it leads to
(`StateMachine`). `apply` turns a command into one conditional statement,

    UPDATE <table> SET status = :to, updated_at = :now, … WHERE id = :id AND status IN (:from, …)

in the use-case's transaction, and writes the history entry and the outbox events of the change in
that same transaction. Whatever else belongs to the change (a ledger move, child rows) is written by
the caller after `apply` returned, so it happens only when the compare-and-set won.

Why this is race-free on both databases: on PostgreSQL a second UPDATE of the row waits for the
first transaction and then re-evaluates its WHERE on the row the first one committed, so exactly one
of many racing commands matches; on SQLite every write transaction begins with BEGIN IMMEDIATE
(kernel/db.py), so they run one after the other and the later ones find the new status. A command
whose UPDATE matched no row raises `Conflict` (409, slug `invalid-status`, the current status in the
body): the transaction is rolled back, no effect is written, and nothing turns into a 500.

A command may keep the status (`to` is None): editing a draft, adjusting an approved line. Its
UPDATE still holds the row lock, so it cannot interleave with a command that changes the status,
and it is refused once the status has moved on.

An aggregate without a status (a pool) declares its plain edits here too (`status_column=None`,
every command from any state): an edit is then the same statement without the status condition,
with its history entry and events in the same transaction, and `Change.where` (an ETag's version)
is what it can lose on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.errors import Conflict, DomainError, NotFound
from kernel.events import Event
from kernel.ids import utcnow
from kernel.outbox import add_events

INVALID_STATUS = "invalid-status"


@dataclass(frozen=True)
class Transition:
    command: str
    sources: tuple[str, ...]  # the states the command may start from
    target: str | None  # the state it leads to; None keeps the current one
    action: str  # what the history calls it ("approved", "suspended", …)


@dataclass(frozen=True)
class Change:
    """What a command writes besides the status, and what must hold for it.

    `values` go into the row with the new status; `where` narrows the compare-and-set (an ETag's
    version, a figure still in bounds), and `refused` is the 409 when the status allowed the command
    and only `where` failed; `events` go to the outbox in the same transaction. `touch=False` leaves
    `updated_at` alone, for a command that must not show on the object (a sealed offer holds the
    campaign row, and nobody may learn from the campaign that someone offered)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    where: Iterable[sa.ColumnElement[bool]] = ()
    events: Iterable[Event] = ()
    refused: DomainError | None = None
    touch: bool = True


UNCHANGED = Change()


@dataclass(frozen=True)
class Note:
    """The history entry a change leaves: who (`actor`), what it says (`data`), under which action
    (default: the transition's), on which object's history (`on`: (type, id), default: the object
    itself; a demand's entries go on its campaign) and for whom (`audience`, see kernel.history;
    default: the owners alone, who read the whole history)."""

    actor: Principal | str | None
    data: dict[str, Any] | None = None
    action: str | None = None
    on: tuple[str, uuid.UUID] | None = None
    audience: Iterable[str] = history.OWNERS


def _past_tense(command: str) -> str:
    """approve → approved, turn_on → turned_on; irregular ones are declared in the table."""
    verb, _, rest = command.partition("_")
    verb = verb + ("d" if verb.endswith("e") else "ed")
    return f"{verb}_{rest}" if rest else verb


class StateMachine:
    """The transition table of one aggregate, and the compare-and-set that applies it.

    `model` is a mapped class or a Core table with an `id` primary key and a `status` column (or
    none: `status_column=None`, no statuses, and every command's from-states and to-state `None`);
    `transitions` maps command → (from-states, to-state) or (from-states, to-state, history action).
    A lost command answers 409 `invalid-status` unless `conflict_slugs` names the slug its clients
    already know (a second reclaim of a seat is `already-reclaimed`).
    """

    def __init__(self, aggregate: str, model: Any, statuses: Iterable[str],
                 transitions: Mapping[str, tuple], *, status_column: str | None = "status", id_column: str = "id",
                 conflict_slugs: Mapping[str, str] | None = None):
        self.aggregate = aggregate
        self.conflict_slugs = dict(conflict_slugs or {})
        self.model = model
        self.statuses = tuple(statuses)
        columns = model.c if isinstance(model, sa.Table) else model.__table__.c
        self._table_columns = columns

        def column(name: str):
            return columns[name] if isinstance(model, sa.Table) else getattr(model, name)

        self.status_column = None if status_column is None else column(status_column)
        self.id_column = column(id_column)
        self.table: dict[str, Transition] = {}
        for command, spec in transitions.items():
            sources, target, *action = spec
            sources = () if sources is None else (sources,) if isinstance(sources, str) else tuple(sources)
            unknown = [s for s in (*sources, target) if s is not None and s not in self.statuses]
            if unknown or (not sources) != (self.status_column is None):
                raise ValueError(f"{aggregate}.{command}: unknown or missing states {unknown}")
            self.table[command] = Transition(command, sources, target, action[0] if action else _past_tense(command))

    def __getitem__(self, command: str) -> Transition:
        return self.table[command]

    def sources(self, command: str) -> tuple[str, ...]:
        return self.table[command].sources

    def conflict(self, command: str, status_now: str | None) -> Conflict:
        allowed = self.table[command].sources
        return Conflict(f"the {self.aggregate} is {status_now}; {command.replace('_', ' ')} needs it "
                        f"{' or '.join(allowed)}", slug=self.conflict_slugs.get(command, INVALID_STATUS),
                        status_now=status_now,
                        command=command, allowed_from=list(allowed))

    def require(self, command: str, status_now: str) -> Transition:
        """Refuses, before any work, a command the object's status (as read) does not allow.

        A cheap early answer only: the compare-and-set in `apply` is what holds under races."""
        transition = self.table[command]
        if status_now not in transition.sources:
            raise self.conflict(command, status_now)
        return transition

    async def status_of(self, session: AsyncSession, object_id: uuid.UUID) -> str | None:
        """The object's status now; for an aggregate without one, "" while it exists."""
        column = self.status_column if self.status_column is not None else sa.literal("")
        return (await session.execute(sa.select(column).where(self.id_column == object_id))).scalar()

    def _in_sources(self, transition: Transition) -> list[sa.ColumnElement[bool]]:
        return [] if self.status_column is None else [self.status_column.in_(transition.sources)]

    async def apply(self, session: AsyncSession, command: str, object_id: uuid.UUID,
                    note: Note | None, change: Change = UNCHANGED) -> Transition:
        """Moves the object by `command` if it is still in one of the command's from-states (and
        `change.where` holds), together with `change`'s values and events and `note`'s history entry
        (None: the change leaves none); else raises 409 (`change.refused` when the status allowed it
        and only `where` failed)."""
        transition = self.table[command]
        now = utcnow()
        changes: dict[str, Any] = dict(change.values)
        if transition.target is not None:
            changes[self.status_column.key] = transition.target
        if "updated_at" in self._table_columns and "updated_at" not in changes:
            # Set to itself when untouched, or the column's onupdate default would move it.
            changes["updated_at"] = now if change.touch else self._table_columns["updated_at"]
        if not changes:  # a pure guard still writes the row, which is what takes its lock
            changes[self.id_column.key] = self.id_column
        statement = (sa.update(self.model)
                     .where(self.id_column == object_id, *self._in_sources(transition), *change.where)
                     .values(**changes))
        if not isinstance(self.model, sa.Table):
            # The winner's objects in this session get the new values; a loser raises below.
            statement = statement.execution_options(synchronize_session="fetch")
        done = await session.execute(statement)
        if done.rowcount != 1:
            status_now = await self.status_of(session, object_id)
            if status_now is None:
                raise NotFound(f"no {self.aggregate} {object_id}")
            if status_now in transition.sources or self.status_column is None:
                # The status allows it but a further condition of this command did not hold.
                raise change.refused or Conflict(
                    f"the {self.aggregate} changed meanwhile; {command.replace('_', ' ')} no longer applies",
                    slug=INVALID_STATUS, status_now=status_now, command=command,
                    allowed_from=list(transition.sources))
            raise self.conflict(command, status_now)
        if note is not None:
            on_type, on_id = note.on or (self.aggregate, object_id)
            await history.record(session, on_type, on_id, note.action or transition.action, note.actor, note.data,
                                 audience=note.audience)
        await add_events(session, list(change.events))
        return transition

    async def try_apply(self, session: AsyncSession, command: str, object_id: uuid.UUID, note: Note | None,
                        change: Change = UNCHANGED) -> Transition | None:
        """`apply` for event handlers, where a command the object has moved past is no error: a
        redelivered answer, or one for an order cancelled meanwhile, changes nothing (None)."""
        try:
            return await self.apply(session, command, object_id, note, change)
        except Conflict as lost:
            if lost.extensions.get("command") != command:
                raise
            return None  # the UPDATE matched no row: nothing was written

    async def apply_all(self, session: AsyncSession, command: str, where: Iterable[sa.ColumnElement[bool]], *,
                        values: Mapping[str, Any] | None = None, returning: Iterable[Any] = ()) -> list[sa.Row]:
        """The same compare-and-set over a set of objects (a campaign's live demands, the seats of
        a retired device): moves those `where` selects that are still in a from-state, leaves the
        others, and returns the moved ones' `returning` columns. A racing command over the same
        objects moves each one once. No history is written here: such sets keep their own record
        (a ledger, or the entry of the command that moved them)."""
        transition = self.table[command]
        changes: dict[str, Any] = dict(values or {})
        if transition.target is not None:
            changes[self.status_column.key] = transition.target
        if "updated_at" in self._table_columns and "updated_at" not in changes:
            changes["updated_at"] = utcnow()
        statement = (sa.update(self.model).where(*self._in_sources(transition), *where)
                     .values(**changes).returning(self.id_column, *returning))
        if not isinstance(self.model, sa.Table):
            statement = statement.execution_options(synchronize_session=False)
        return list((await session.execute(statement)).all())

    def describe(self) -> list[dict[str, Any]]:
        """The table as data (for docs and tests)."""
        return [{"command": t.command, "from": list(t.sources), "to": t.target} for t in self.table.values()]
