"""The gateway's tables: the org tree, users, API keys and signing keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import make_base
from kernel.ids import new_id, utcnow

Base = make_base()


class Org(Base):
    __tablename__ = "identity_orgs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("identity_orgs.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    # The parent's path plus "<id hex>/": a prefix test answers "is X under Y".
    path: Mapped[str] = mapped_column(sa.String(2000), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "identity_users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("identity_orgs.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(sa.JSON)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "identity_api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("identity_orgs.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(sa.JSON)
    # SHA-256 of the key: keys are long random strings, so a fast hash is enough and lets the
    # gateway find a key with one indexed lookup per request.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a newer key took over signing; the key stays in the JWKS until `retire_at`.
    superseded_at: Mapped[datetime | None] = mapped_column()
    retire_at: Mapped[datetime | None] = mapped_column()


class ConsoleSessionRecord(Base):
    """A console sign-in (gateway/console/sessions.py), found by the SHA-256 of its cookie's id."""

    __tablename__ = "console_sessions"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column()
    # When it ends unless used again: sessions nobody signed out of are purged after it.
    expires_at: Mapped[datetime] = mapped_column(index=True)
