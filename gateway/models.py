"""The gateway's tables: the org tree, users, API keys and signing keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.db import JSONType, UTCDateTime, table_registry
from kernel.etags import etag
from kernel.ids import new_id, utcnow


class GatewayTable(SQLModel, registry=table_registry()):
    """A table of the gateway's database (`class Org(GatewayTable, table=True)`)."""


class Org(GatewayTable, table=True):
    __tablename__ = "identity_orgs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    parent_id: uuid.UUID | None = Field(None, foreign_key="identity_orgs.id", index=True)
    name: str = Field(sa_type=sa.String(200))
    kind: str = Field(sa_type=sa.String(40))
    # The parent's path plus "<id hex>/": a prefix test answers "is X under Y".
    path: str = Field(unique=True, sa_type=sa.String(2000))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class User(GatewayTable, table=True):
    __tablename__ = "identity_users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(unique=True, sa_type=sa.String(100))
    password_hash: str = Field(sa_type=sa.String(200))
    org_id: uuid.UUID = Field(foreign_key="identity_orgs.id", index=True)
    roles: list[str] = Field(sa_type=sa.JSON)
    display_name: str | None = Field(None, sa_type=sa.String(200))
    email: str | None = Field(None, sa_type=sa.String(254))
    # Set when an admin switched the user off: no sign-in, and the services refuse its tokens.
    disabled_at: datetime | None = Field(None, sa_type=UTCDateTime)
    # After a reset the user holds a one-time password and may do nothing but change it.
    must_change_password: bool = Field(False, sa_column_kwargs={"server_default": sa.false()})
    # When the one-time password signed in: it does so once only.
    temporary_used_at: datetime | None = Field(None, sa_type=UTCDateTime)
    # The lockout (SPEC: five failures of one username within 15 minutes lock it for 15 minutes),
    # kept on the row so every gateway replica counts the same failures.
    failed_sign_ins: int = Field(0, sa_column_kwargs={"server_default": "0"})
    failures_since: datetime | None = Field(None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def etag(self) -> str:
        """The version of what an admin edits (the ETag of GET, the If-Match of PATCH); not
        `updated_at`, which every sign-in's lockout counting moves without changing any of it."""
        return etag(self.id, self.display_name, self.email, sorted(self.roles), self.org_id, self.disabled_at)


class ApiKey(GatewayTable, table=True):
    __tablename__ = "identity_api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_type=sa.String(200))
    org_id: uuid.UUID = Field(foreign_key="identity_orgs.id", index=True)
    roles: list[str] = Field(sa_type=sa.JSON)
    # SHA-256 of the key: keys are long random strings, so a fast hash is enough and lets the
    # gateway find a key with one indexed lookup per request.
    key_hash: str = Field(unique=True, sa_type=sa.String(64))
    prefix: str = Field(sa_type=sa.String(16))
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
    deleted_at: datetime | None = Field(None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(None, sa_type=UTCDateTime)
    # Written at most once a minute per key (gateway/access.py): a key in a busy script must not
    # turn every request into a write.
    last_used_at: datetime | None = Field(None, sa_type=UTCDateTime)


class SigningKey(GatewayTable, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, sa_type=sa.String(64))
    private_pem: str = Field(sa_type=sa.Text)
    public_jwk: dict[str, Any] = Field(sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when a newer key took over signing; the key stays in the JWKS until `retire_at`.
    superseded_at: datetime | None = Field(None, sa_type=UTCDateTime)
    retire_at: datetime | None = Field(None, sa_type=UTCDateTime)


class ConsoleSessionRecord(GatewayTable, table=True):
    """A console sign-in (gateway/console/sessions.py), found by the SHA-256 of its cookie's id."""

    __tablename__ = "console_sessions"

    key: str = Field(primary_key=True, sa_type=sa.String(64))
    record: dict[str, Any] = Field(sa_type=JSONType)
    # When it ends unless used again: sessions nobody signed out of are purged after it.
    expires_at: datetime = Field(index=True, sa_type=UTCDateTime)


class AuditEntry(GatewayTable, table=True):
    """One line of the instance's audit log (gateway/audit/): append-only, pruned only by age."""

    __tablename__ = "audit_log"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)  # time-ordered: pages by id
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    action: str = Field(sa_type=sa.String(60), index=True)
    actor_id: uuid.UUID | None = Field(None, index=True)
    # The username or key name; for a failed sign-in, the username that was tried.
    actor_name: str | None = Field(None, sa_type=sa.String(200))
    org_id: uuid.UUID | None = None
    # The actor's org path: who may read the entry (admins and auditors over it).
    org_path: str | None = Field(None, sa_type=sa.String(2000), index=True)
    ip: str | None = Field(None, sa_type=sa.String(64))
    user_agent: str | None = Field(None, sa_type=sa.String(500))
    method: str | None = Field(None, sa_type=sa.String(10))
    path: str | None = Field(None, sa_type=sa.String(2000))
    object_id: uuid.UUID | None = Field(None, index=True)
    status: int | None = None
    request_id: str | None = Field(None, sa_type=sa.String(100))
    detail: dict[str, Any] | None = Field(None, sa_type=JSONType)
