"""Devices and what their inventory reports say is installed on them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable

KINDS = ("desktop", "laptop", "server")


class Device(LicensesTable, table=True):
    __tablename__ = "devices"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('desktop', 'laptop', 'server')", name="kind_known"),
        sa.CheckConstraint("status IN ('active', 'retired')", name="status_known"),
        sa.UniqueConstraint("org_id", "asset_tag"),
        # Every query filters devices on `org_path LIKE 'prefix%'` (a subtree). Under a database
        # collation other than C (C.UTF-8, zh_CN.UTF-8) PostgreSQL can use a btree for such a
        # prefix only with the pattern operator class; it still serves `=`.
        sa.Index("ix_devices_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(sa_type=sa.String(2000))
    asset_tag: str = Field(sa_type=sa.String(100))
    hostname: str = Field(sa_type=sa.String(200))
    kind: str = Field(sa_type=sa.String(20))
    os_name: str | None = Field(None, sa_type=sa.String(200))
    owner: str | None = Field(None, sa_type=sa.String(200))
    status: str = Field("active", sa_type=sa.String(20))
    # The `reported_at` of its latest inventory report, written in that report's transaction: the
    # one pointer to it (the latest inventory, reclaim runs and the compliance report read it).
    last_seen_at: datetime | None = Field(None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# A device is `active` until retired; retiring gives its seats back. An inventory report and an
# edit keep the status but are refused once the device is retired.
DEVICE = StateMachine("device", Device, ("active", "retired"), {
    "retire": ("active", "retired", "retired"),
    "edit": ("active", None, "edited"),
    "report_inventory": ("active", None, "inventory_reported"),
}, conflict_slugs={"retire": "already-retired", "report_inventory": "device-retired"})


class InstalledSoftware(LicensesTable, table=True):
    """One row per program in one inventory report; a report is all rows with its `reported_at`,
    and a device's position at a past date is its latest report before then."""

    __tablename__ = "installed_software"
    __table_args__ = (
        sa.Index("ix_installed_software_device_reported", "device_id", "reported_at"),
        # A new pattern re-recognizes the rows of one raw name at a time (devices/recognition.py).
        sa.Index("ix_installed_software_name", "name"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id")
    reported_at: datetime = Field(sa_type=UTCDateTime)
    name: str = Field(sa_type=sa.String(200))
    vendor: str | None = Field(None, sa_type=sa.String(200))
    version: str | None = Field(None, sa_type=sa.String(100))
    # What the reporter said; the title recognized from the raw name decides where it counts.
    category: str | None = Field(None, sa_type=sa.String(40))
    # The catalogue title the raw name was recognized as (None: unrecognized), recognized when the
    # report was written and again when the catalogue changes (latest reports only).
    title_id: uuid.UUID | None = Field(None, foreign_key="catalogue_titles.id")
    # An update, language pack or component (not a product): neither a title nor unrecognized.
    not_a_product: bool = Field(False, sa_column_kwargs={"server_default": sa.false()})


class InventoryReport(LicensesTable, table=True):
    """When each device reported (an empty report is a report too)."""

    __tablename__ = "inventory_reports"
    __table_args__ = (sa.UniqueConstraint("device_id", "reported_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id", index=True)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    items: int


class BundledTitle(LicensesTable, table=True):
    """A title that came pre-installed with the device (an OEM operating system): genuine there
    when its licensing is `bundled`."""

    __tablename__ = "device_bundled_titles"

    device_id: uuid.UUID = Field(foreign_key="devices.id", primary_key=True)
    title_id: uuid.UUID = Field(foreign_key="catalogue_titles.id", primary_key=True)
