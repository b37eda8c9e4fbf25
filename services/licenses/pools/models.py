"""Pools hold counters, not a row per seat: a million-seat entitlement is one row and one update."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.bounds import text_field
from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable

# `transfer`: seats moved in from another org's pool, keeping the term of the entitlement they left.
SOURCES = ("order", "manual", "oem", "transfer")
PRODUCT_NAME_MAX = 200
VENDOR_MAX = 200
METRIC_MAX = 20
# A pool's product key names a catalogue product by its id, else by vendor, name and metric
# (pools.service.product_key): long enough for the longest of these the API accepts.
PRODUCT_KEY_MAX = len("name:||") + VENDOR_MAX + PRODUCT_NAME_MAX + METRIC_MAX


class Product(SQLModel):
    """What pools and entitlements say of their product, with its limits: the tables' columns and
    the entitlement request (pools.schemas) both derive from it."""

    product_id: uuid.UUID | None = None
    product_name: str = text_field(PRODUCT_NAME_MAX)
    vendor: str = text_field(VENDOR_MAX)


class Pool(LicensesTable, Product, table=True):
    """All seats of one product in one org: `total` from its live entitlements (± transfers)."""

    __tablename__ = "pools"
    __table_args__ = (
        # The seat cap, in the database: no interleaving of requests can allocate past `total`.
        sa.CheckConstraint("allocated >= 0 AND allocated <= total", name="allocated_within_total"),
        sa.CheckConstraint("total >= 0", name="total_not_negative"),
        sa.UniqueConstraint("org_id", "product_key"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    # Copied from the org so that scoping a pool needs no lookup; org paths never change.
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    product_key: str = Field(sa_type=sa.String(PRODUCT_KEY_MAX))
    category: str = Field(sa_type=sa.String(40))
    # The catalogue title its seats make genuine (given, or recognized from vendor and name).
    title_id: uuid.UUID | None = Field(None, foreign_key="catalogue_titles.id", index=True)
    metric: str = Field(sa_type=sa.String(METRIC_MAX))
    total: int = Field(0, sa_type=sa.BigInteger)
    allocated: int = Field(0, sa_type=sa.BigInteger)
    low_threshold: int | None = Field(None, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class Entitlement(LicensesTable, Product, table=True):
    __tablename__ = "entitlements"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('active', 'expired')", name="status_known"),
        sa.CheckConstraint("transferred_out >= 0 AND transferred_out <= quantity", name="transferred_within_quantity"),
        # One entitlement per delivered order, however often the delivery event arrives.
        sa.Index("uq_entitlements_order_reference", "reference", unique=True,
                 sqlite_where=sa.text("source = 'order'"), postgresql_where=sa.text("source = 'order'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    pool_id: uuid.UUID = Field(foreign_key="pools.id", index=True)
    org_id: uuid.UUID = Field(index=True)
    category: str = Field(sa_type=sa.String(40))
    title_id: uuid.UUID | None = Field(None, foreign_key="catalogue_titles.id")
    metric: str = Field(sa_type=sa.String(METRIC_MAX))
    quantity: int = Field(sa_type=sa.BigInteger)
    # Seats of this entitlement moved to other pools by transfers: they count there (as entitlements
    # of source `transfer` with this one's term), so this one's expiry takes only the rest away.
    transferred_out: int = Field(0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": '0'})
    valid_from: datetime | None = Field(None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(None, index=True, sa_type=UTCDateTime)
    source: str = Field(sa_type=sa.String(20))
    reference: str | None = Field(None, sa_type=sa.String(200))
    status: str = Field("active", sa_type=sa.String(20))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# An entitlement counts in its pool while `active`; a subscription's ends at `valid_to`. Its
# history is its pool's.
ENTITLEMENT = StateMachine("entitlement", Entitlement, ("active", "expired"), {
    "expire": ("active", "expired", "entitlement_expired"),
})


# A pool has no status: its plain edit goes through the same compare-and-set, history and outbox.
POOL = StateMachine("pool", Pool, (), {
    "set_threshold": (None, None, "threshold_set"),
}, status_column=None)


class Transfer(LicensesTable, table=True):
    """Idle seats moved from one org's pool to another's (调配)."""

    __tablename__ = "transfers"
    __table_args__ = (sa.CheckConstraint("seats > 0", name="seats_positive"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    from_pool_id: uuid.UUID = Field(foreign_key="pools.id", index=True)
    to_pool_id: uuid.UUID = Field(foreign_key="pools.id", index=True)
    to_org_id: uuid.UUID
    seats: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(sa_type=sa.String(500))
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
