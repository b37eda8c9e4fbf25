"""Tables every service database has besides its own: outbox, inbox, dead letters, idempotency
keys, history (with its audience) and the local copy of the org tree.

The version-1 tables (`KERNEL_TABLES`) are created by each process's first migration through
`create_kernel_tables`. Treat them as frozen: a change, or a new kernel table, needs a new migration
in every process (as `history_audience` has, through `create_history_audience`).
"""

from __future__ import annotations

import sqlalchemy as sa

from kernel.db import JSONType, UTCDateTime, make_metadata

kernel_metadata = make_metadata()

outbox = sa.Table(
    "outbox", kernel_metadata,
    sa.Column("seq", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), primary_key=True,
              autoincrement=True),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
)
sa.Index("ix_outbox_unpublished", outbox.c.seq, sqlite_where=outbox.c.published_at.is_(None),
         postgresql_where=outbox.c.published_at.is_(None))

# One row per (consumer, event) applied: written in the same transaction as the effect, so a
# redelivered or duplicated event finds its row and changes nothing twice.
inbox = sa.Table(
    "inbox", kernel_metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("processed_at", UTCDateTime, nullable=False),
)

dead_letters = sa.Table(
    "dead_letters", kernel_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("consumer", sa.String(200), nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("parked_at", UTCDateTime, nullable=False),
    sa.Column("replayed_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("consumer", "event_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", kernel_metadata,
    sa.Column("scope", sa.String(200), primary_key=True),  # the caller's subject
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),  # null while the first request runs
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    sa.Column("response_headers", JSONType, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

history = sa.Table(
    "history", kernel_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("object_type", sa.String(50), nullable=False),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("data", JSONType, nullable=True),
)
sa.Index("ix_history_object", history.c.object_id, history.c.at)

# What this service knows of the gateway's org tree: enough to scope queries to a subtree
# without calling anyone. Kept current by identity.org.* events, filled on a miss by asking the
# gateway (an org created a moment ago is usable at once).
orgs = sa.Table(
    "orgs", kernel_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("parent_id", sa.Uuid, nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("path", sa.String(2000), nullable=False, unique=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

KERNEL_TABLES = (outbox, inbox, dead_letters, idempotency_keys, history, orgs)

# Who may read a history entry besides those who read all of an object's history: one row per
# audience token (`everyone`, a reader kind such as `panel`, or `org:<id>` for one org). An entry
# without rows is for the owners alone (kernel.history fails closed). Added after version 1: each process's
# `history_audience` migration creates it.
history_audience = sa.Table(
    "history_audience", kernel_metadata,
    sa.Column("history_id", sa.Uuid, primary_key=True),
    sa.Column("token", sa.String(60), primary_key=True),
)


# The users whose access tokens this service refuses (kernel/disabled_users.py): the newest state
# of each user the identity.user.changed/disabled events told. Added after version 1: each
# service's `disabled_users` migration creates it.
disabled_users = sa.Table(
    "disabled_users", kernel_metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),  # when the gateway made the change
    sa.Column("copied_at", UTCDateTime, nullable=False),
)


def create_disabled_users(op) -> None:
    disabled_users.create(op.get_bind())


def drop_disabled_users(op) -> None:
    disabled_users.drop(op.get_bind())


def create_history_audience(op) -> None:
    history_audience.create(op.get_bind())


def drop_history_audience(op) -> None:
    history_audience.drop(op.get_bind())


def create_kernel_tables(op) -> None:
    """Creates the kernel tables from a service's first Alembic migration."""
    bind = op.get_bind()
    for table in KERNEL_TABLES:
        table.create(bind)


def drop_kernel_tables(op) -> None:
    bind = op.get_bind()
    for table in reversed(KERNEL_TABLES):
        table.drop(bind)
