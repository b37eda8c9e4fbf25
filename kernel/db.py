"""Async database engines for SQLite and PostgreSQL, one per service, with the same semantics.

SQLite runs in WAL mode with foreign keys on, and every transaction begins with BEGIN IMMEDIATE:
a transaction that reads a counter and then updates it must hold the write lock from its first
statement, or two of them would both read the old value and one would fail at commit (SQLite
cannot upgrade a read lock while another writer waits). On PostgreSQL the invariants rest on
conditional UPDATEs and CHECK constraints instead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, registry
from sqlalchemy.util.concurrency import in_greenlet

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on both databases (SQLite stores no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use kernel.ids.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def table_registry() -> registry:
    """A registry with metadata of its own, for one process's SQLModel tables
    (`class LicensesTable(SQLModel, registry=table_registry())`): each process has its own
    database, and its Alembic environment must see its tables alone, not every process's."""
    return registry(metadata=make_metadata())


def normalize_url(url: str) -> str:
    """Accepts plain `postgresql://` and `sqlite:///` URLs and names the async drivers."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


def is_sqlite(url_or_session: str | AsyncSession) -> bool:
    if isinstance(url_or_session, AsyncSession):
        return url_or_session.bind.dialect.name == "sqlite"
    return normalize_url(url_or_session).startswith("sqlite")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver so "begin" below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    # A connection SQLAlchemy gives up on (its task cancelled mid-query) is closed "gracefully" in a
    # shielded task of its own; with aiosqlite 0.22 a second cancel stopped the connection's thread
    # under that task, which then waited forever, and so did asyncio.run's final cancel-and-wait at
    # shutdown (tests/kernel/test_sqlite_cancel.py). Closed in the task that gave it up instead, a
    # second cancel only ends that task, and the thread still closes the file in order.
    engine.sync_engine.dialect.do_terminate = _close_in_this_task


def _close_in_this_task(dbapi_connection) -> None:
    if in_greenlet():
        dbapi_connection.close()
    else:  # the garbage collector's clean-up: nothing to await in, so SQLAlchemy's own way
        dbapi_connection._terminate_force_close()


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_timeout=60)
        _configure_sqlite(engine)
        return engine
    # Bounded (no overflow; see ProcessSettings.database_pool_size).
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30)
    _ping_when_idle(engine)
    return engine


# A connection back in the pool for less than this is taken as alive without asking the server.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pings a connection on checkout only when it sat in the pool for a while.

    After a PostgreSQL restart a pooled connection is stale; the ping finds it and the pool opens
    a fresh one instead of failing a request. A ping on every checkout (`pool_pre_ping`) costs a
    round trip per transaction (measured: many-pools allocations ran 18 % faster without it), yet a
    connection used a moment ago is as good as pinged. Should the server go away within that
    moment, the request then running fails, as it would have anyway, and its disconnect error
    makes the pool replace every connection older than it."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as stale:  # noqa: BLE001 - any failure: the pool opens a fresh connection
            raise sa.exc.DisconnectionError() from stale


# Set in a session's `info` by kernel.idempotency while a request's answer is to commit with its
# work: the use-case's commit then only flushes, and the middleware commits once the answer is known.
HELD_COMMIT = "zhengban.held_commit"


class RequestSession(AsyncSession):
    """An AsyncSession whose commit the idempotency middleware may hold (see HELD_COMMIT)."""

    async def commit(self) -> None:
        held = self.info.get(HELD_COMMIT)
        if held is None:
            return await super().commit()
        await self.flush()
        held.committed = True


class Database:
    """An engine and its session factory. Sessions committing outbox rows wake the relay."""

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)

        class _Session(Session):
            pass

        self.session_class = _Session
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=RequestSession, expire_on_commit=False, sync_session_class=_Session
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    def on_commit(self, callback) -> None:
        """Calls `callback(session)` after every commit of a session of this database."""
        event.listen(self.session_class, "after_commit", callback)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def session_scope(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.session() as session:
        yield session


def insert_ignore(session: AsyncSession, table: sa.Table, *, index_elements: list[str], index_where=None):
    """Returns an INSERT that does nothing when the unique key already exists (both dialects);
    `index_where` names a partial unique index by its condition."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)


# Values per IN list where PostgreSQL's one array parameter is not available (SQLite's bound on
# the parameters of one statement).
IN_CHUNK = 500


def among(session: AsyncSession, column: sa.ColumnElement, values: Sequence) -> list[sa.ColumnElement[bool]]:
    """Conditions that together select the rows whose `column` is one of `values`, one statement
    each: on PostgreSQL a single `= ANY(array)` (one parameter however many values, so one round
    trip and one prepared statement), elsewhere an IN list per IN_CHUNK values."""
    if not values:
        return []
    if session.bind.dialect.name == "postgresql":
        return [column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))]
    return [column.in_(values[start:start + IN_CHUNK]) for start in range(0, len(values), IN_CHUNK)]


async def insert_rows(session: AsyncSession, table: sa.Table, rows: Sequence[dict], *, skip_conflicts: bool = False,
                      returning: sa.ColumnElement | None = None) -> sa.CursorResult:
    """INSERTs `rows` (dicts with the same keys) in one go; with `skip_conflicts` a row that meets
    any unique index is left out (ON CONFLICT DO NOTHING without a target).

    On PostgreSQL it is one `INSERT … SELECT … FROM unnest(arrays)`: a column whose value differs
    between rows goes as one array, a column with one value for all as one value. The statement
    is then the same for any number of rows (compiled and prepared once), and the driver encodes
    each array in C, where a multi-row VALUES has SQLAlchemy bind and process every value in Python,
    a thousand rows per statement (docs/performance.md, "Bulk allocation, set-based"). Elsewhere an
    executemany of the rows."""
    if session.bind.dialect.name != "postgresql":
        statement = sqlite.insert(table).on_conflict_do_nothing() if skip_conflicts else sa.insert(table)
        if returning is not None:
            statement = statement.returning(returning)
        return await session.execute(statement, rows[0] if len(rows) == 1 else list(rows))
    varying, same = {}, {}
    first = next(iter(rows[0]))
    for name in rows[0]:
        values = [row[name] for row in rows]
        # list.count compares in C, identity first: cheap next to the arrays it saves. The first
        # column of several rows is an array even when they are alike, so that they all go in.
        if (len(rows) == 1 or name != first) and values.count(values[0]) == len(values):
            same[name] = values[0]
        else:
            varying[name] = values
    columns: list[sa.ColumnElement] = []
    if varying:
        unnested = sa.func.unnest(*(
            sa.bindparam(f"rows_{name}", values, type_=postgresql.ARRAY(table.c[name].type))
            for name, values in varying.items())).table_valued(*varying).render_derived(name="given")
        columns += [unnested.c[name] for name in varying]
    # A single row has no array at all; its values are cast so that PostgreSQL knows their types.
    columns += [sa.cast(sa.bindparam(f"same_{name}", value, type_=table.c[name].type), table.c[name].type)
                for name, value in same.items()]
    statement = postgresql.insert(table).from_select([*varying, *same], sa.select(*columns))
    if skip_conflicts:
        statement = statement.on_conflict_do_nothing()
    if returning is not None:
        statement = statement.returning(returning)
    return await session.execute(statement)
