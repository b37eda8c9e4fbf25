"""The software catalogue: titles, the patterns that recognize raw inventory names as them, and the
catalogue's revision, which tells the re-recognition job that the latest reports need another look."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from services.licenses.models import LicensesTable

LICENSING = ("commercial", "free", "personal_free", "bundled")


class CatalogueTitle(LicensesTable, table=True):
    """One title (a product in one edition). Shipped titles keep the id the shipped data gives them
    (uuid5 of their key), the same on every installation; titles users add get a new id."""

    __tablename__ = "catalogue_titles"
    __table_args__ = (
        sa.CheckConstraint("licensing IN ('commercial', 'free', 'personal_free', 'bundled')", name="licensing_known"),
        sa.UniqueConstraint("key"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # The shipped data's key, or `user:<vendor>|<name>|<edition>` (normalized) for a title users add:
    # the same title cannot be added twice.
    key: str = Field(sa_type=sa.String(700))
    vendor: str = Field(sa_type=sa.String(200))
    name: str = Field(sa_type=sa.String(200))
    category: str = Field(sa_type=sa.String(40))
    edition: str | None = Field(None, sa_type=sa.String(100))
    licensing: str = Field(sa_type=sa.String(20))
    domestic: bool = False
    shipped: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class CataloguePattern(LicensesTable, table=True):
    __tablename__ = "catalogue_patterns"
    __table_args__ = (sa.UniqueConstraint("title_id", "pattern"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title_id: uuid.UUID = Field(foreign_key="catalogue_titles.id")
    pattern: str = Field(sa_type=sa.String(500))
    # Shipped patterns follow the shipped data (one it no longer has goes); users' stay.
    shipped: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CatalogueRevision(LicensesTable, table=True):
    """One row (id 1, written by the migration). `revision` goes up in the transaction of every
    change to the catalogue; `recognized` is the revision the latest reports were last recognized
    under, and `recognized_at` when that pass began. Replicas share it, so one change causes a pass
    in whichever replica comes first, and a pass of the same revision twice changes nothing."""

    __tablename__ = "catalogue_revision"

    id: int = Field(primary_key=True)
    revision: int = Field(0, sa_type=sa.BigInteger)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recognized: int = Field(0, sa_type=sa.BigInteger)
    recognized_at: datetime | None = Field(None, sa_type=UTCDateTime)
