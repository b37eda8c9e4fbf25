"""Devices and what their inventory reports say is installed on them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import Base

KINDS = ("desktop", "laptop", "server")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('desktop', 'laptop', 'server')", name="kind_known"),
        sa.CheckConstraint("status IN ('active', 'retired')", name="status_known"),
        sa.UniqueConstraint("org_id", "asset_tag"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    asset_tag: Mapped[str] = mapped_column(sa.String(100))
    hostname: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    os_name: Mapped[str | None] = mapped_column(sa.String(200))
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    last_seen_at: Mapped[datetime | None] = mapped_column()
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# A device is `active` until retired; retiring gives its seats back. An inventory report keeps the
# status but is refused once the device is retired.
DEVICE = StateMachine("device", Device, ("active", "retired"), {
    "retire": ("active", "retired", "retired"),
    "report_inventory": ("active", None, "inventory_reported"),
}, conflict_slugs={"retire": "already-retired", "report_inventory": "device-retired"})


class InstalledSoftware(Base):
    """One row per program in one inventory report; a report is all rows with its `reported_at`,
    and a device's position at a past date is its latest report before then."""

    __tablename__ = "installed_software"
    __table_args__ = (sa.Index("ix_installed_software_device_reported", "device_id", "reported_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("devices.id"))
    reported_at: Mapped[datetime] = mapped_column()
    name: Mapped[str] = mapped_column(sa.String(200))
    vendor: Mapped[str | None] = mapped_column(sa.String(200))
    version: Mapped[str | None] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(40))


class InventoryReport(Base):
    """When each device reported (an empty report is a report too)."""

    __tablename__ = "inventory_reports"
    __table_args__ = (sa.UniqueConstraint("device_id", "reported_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column()
    items: Mapped[int] = mapped_column()
