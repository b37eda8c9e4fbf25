"""Allocations of seats, and the append-only ledger that answers for any past date."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable


class Allocation(LicensesTable, table=True):
    __tablename__ = "allocations"
    __table_args__ = (
        sa.CheckConstraint("assignee_type IN ('device', 'user')", name="assignee_type_known"),
        sa.CheckConstraint("status IN ('active', 'reclaimed')", name="status_known"),
        # One live seat per assignee and pool: two racing requests for the same device get one seat.
        sa.Index("uq_allocations_active_assignee", "pool_id", "assignee_type", "assignee_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
        # Per 98号 a computer holds at most one seat each of os, office and antivirus (a policy may
        # allow n): such a seat takes one of the device's numbered slots 1..n of its category, and
        # two live seats never share a slot, however many pools and replicas race for the device.
        sa.CheckConstraint("slot IS NULL OR (slot >= 1 AND device_id IS NOT NULL)", name="slot_of_a_device"),
        sa.Index("uq_allocations_active_device_slot", "device_id", "category", "slot", unique=True,
                 sqlite_where=sa.text("status = 'active' AND slot IS NOT NULL"),
                 postgresql_where=sa.text("status = 'active' AND slot IS NOT NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    pool_id: uuid.UUID = Field(foreign_key="pools.id", index=True)
    org_id: uuid.UUID
    assignee_type: str = Field(sa_type=sa.String(10))
    assignee_id: str = Field(index=True, sa_type=sa.String(200))
    # Set when the assignee is a device id: what compliance, retirement and reclaim runs follow.
    device_id: uuid.UUID | None = Field(None, foreign_key="devices.id", index=True)
    # The pool's category, copied so that the per-device limit is one index over this table.
    category: str = Field(sa_type=sa.String(40))
    # Which of the device's seats of its category this is, when the category is limited per device
    # (SPEC Licenses, 98号); None for users and unlimited categories.
    slot: int | None = Field(None, sa_type=sa.SmallInteger)
    status: str = Field("active", sa_type=sa.String(20))
    reason: str | None = Field(None, sa_type=sa.String(500))
    allocated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reclaimed_at: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# SPEC: an allocation is `active` or `reclaimed`. Its history is its ledger (AllocationEntry).
ALLOCATION = StateMachine("allocation", Allocation, ("active", "reclaimed"), {
    "reclaim": ("active", "reclaimed", "reclaimed"),
}, conflict_slugs={"reclaim": "already-reclaimed"})


class AllocationEntry(LicensesTable, table=True):
    """One line per seat taken or given back; never updated, never deleted."""

    __tablename__ = "allocation_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('allocated', 'reclaimed')", name="kind_known"),
        # A seat is taken once and given back at most once.
        sa.UniqueConstraint("allocation_id", "kind"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    allocation_id: uuid.UUID = Field(foreign_key="allocations.id")
    pool_id: uuid.UUID = Field(foreign_key="pools.id", index=True)
    category: str = Field(sa_type=sa.String(40))
    device_id: uuid.UUID | None = Field(None, foreign_key="devices.id", index=True)
    kind: str = Field(sa_type=sa.String(20))
    reason: str | None = Field(None, sa_type=sa.String(500))
    actor: str = Field(sa_type=sa.String(200))
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)


class ReclaimRun(LicensesTable, table=True):
    __tablename__ = "reclaim_runs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    inactive_days: int
    max_seats: int
    dry_run: bool
    status: str = Field("completed", sa_type=sa.String(20))
    seats: list[dict] = Field(sa_type=sa.JSON)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
