"""Allocations of seats, and the append-only ledger that answers for any past date."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import Base


class Allocation(Base):
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

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pool_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("pools.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column()
    assignee_type: Mapped[str] = mapped_column(sa.String(10))
    assignee_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    # Set when the assignee is a device id: what compliance, retirement and reclaim runs follow.
    device_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The pool's category, copied so that the per-device limit is one index over this table.
    category: Mapped[str] = mapped_column(sa.String(40))
    # Which of the device's seats of its category this is, when the category is limited per device
    # (SPEC Licenses, 98号); None for users and unlimited categories.
    slot: Mapped[int | None] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reclaimed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# SPEC: an allocation is `active` or `reclaimed`. Its history is its ledger (AllocationEntry).
ALLOCATION = StateMachine("allocation", Allocation, ("active", "reclaimed"), {
    "reclaim": ("active", "reclaimed", "reclaimed"),
}, conflict_slugs={"reclaim": "already-reclaimed"})


class AllocationEntry(Base):
    """One line per seat taken or given back; never updated, never deleted."""

    __tablename__ = "allocation_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('allocated', 'reclaimed')", name="kind_known"),
        # A seat is taken once and given back at most once.
        sa.UniqueConstraint("allocation_id", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    allocation_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("allocations.id"))
    pool_id: Mapped[uuid.UUID] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(sa.String(40))
    device_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReclaimRun(Base):
    __tablename__ = "reclaim_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    inactive_days: Mapped[int] = mapped_column()
    max_seats: Mapped[int] = mapped_column()
    dry_run: Mapped[bool] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="completed")
    seats: Mapped[list[dict]] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
