"""Pools hold counters, not a row per seat: a million-seat entitlement is one row and one update."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import Base

CATEGORIES = ("os", "office", "antivirus", "database", "industrial_design", "business", "other")
METRICS = ("device", "user", "concurrent")
# `transfer`: seats moved in from another org's pool, keeping the term of the entitlement they left.
SOURCES = ("order", "manual", "oem", "transfer")


class Pool(Base):
    """All seats of one product in one org: `total` from its live entitlements (± transfers)."""

    __tablename__ = "pools"
    __table_args__ = (
        # The seat cap, in the database: no interleaving of requests can allocate past `total`.
        sa.CheckConstraint("allocated >= 0 AND allocated <= total", name="allocated_within_total"),
        sa.CheckConstraint("total >= 0", name="total_not_negative"),
        sa.UniqueConstraint("org_id", "product_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # Copied from the org so that scoping a pool needs no lookup; org paths never change.
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    product_key: Mapped[str] = mapped_column(sa.String(300))
    product_id: Mapped[uuid.UUID | None] = mapped_column()
    product_name: Mapped[str] = mapped_column(sa.String(200))
    vendor: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(40))
    metric: Mapped[str] = mapped_column(sa.String(20))
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    allocated: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    low_threshold: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Entitlement(Base):
    __tablename__ = "entitlements"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('active', 'expired')", name="status_known"),
        sa.CheckConstraint("transferred_out >= 0 AND transferred_out <= quantity", name="transferred_within_quantity"),
        # One entitlement per delivered order, however often the delivery event arrives.
        sa.Index("uq_entitlements_order_reference", "reference", unique=True,
                 sqlite_where=sa.text("source = 'order'"), postgresql_where=sa.text("source = 'order'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pool_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("pools.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column()
    product_name: Mapped[str] = mapped_column(sa.String(200))
    vendor: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(40))
    metric: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    # Seats of this entitlement moved to other pools by transfers: they count there (as entitlements
    # of source `transfer` with this one's term), so this one's expiry takes only the rest away.
    transferred_out: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    valid_from: Mapped[datetime | None] = mapped_column()
    valid_to: Mapped[datetime | None] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# An entitlement counts in its pool while `active`; a subscription's ends at `valid_to`. Its
# history is its pool's.
ENTITLEMENT = StateMachine("entitlement", Entitlement, ("active", "expired"), {
    "expire": ("active", "expired", "entitlement_expired"),
})


class Transfer(Base):
    """Idle seats moved from one org's pool to another's (调配)."""

    __tablename__ = "transfers"
    __table_args__ = (sa.CheckConstraint("seats > 0", name="seats_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    from_pool_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("pools.id"), index=True)
    to_pool_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("pools.id"), index=True)
    to_org_id: Mapped[uuid.UUID] = mapped_column()
    seats: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
