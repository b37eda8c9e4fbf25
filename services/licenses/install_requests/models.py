"""Install and uninstall requests (安装、卸载审核机制, seeds/003 §4): staff may not install or remove
software themselves; an IT admin approves, and the approval of an install is the seat."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from kernel.transitions import StateMachine
from services.licenses.models import LicensesTable

KINDS = ("install", "uninstall")


class InstallRequest(LicensesTable, table=True):
    __tablename__ = "install_requests"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('install', 'uninstall')", name="kind_known"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        # The requests one staff member reads (its own) come from this key.
        sa.Index("ix_install_requests_requested_by", "requested_by", "id"),
        sa.Index("ix_install_requests_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # The device's org, copied (with its path) so that scoping a request needs no join.
    org_id: uuid.UUID = Field(index=True)
    org_path: str = Field(sa_type=sa.String(2000))
    device_id: uuid.UUID = Field(foreign_key="devices.id", index=True)
    title_id: uuid.UUID = Field(foreign_key="catalogue_titles.id", index=True)
    kind: str = Field(sa_type=sa.String(20))
    reason: str = Field(sa_type=sa.String(500))
    status: str = Field("pending", sa_type=sa.String(20))
    # `user:<id>` or `api_key:<id>` (kernel.history.actor_of): who a staff member's "own" is.
    requested_by: str = Field(sa_type=sa.String(200))
    # The decision: the pool the seat came from (install) or went back to (uninstall), the seat.
    pool_id: uuid.UUID | None = Field(None, foreign_key="pools.id")
    allocation_id: uuid.UUID | None = Field(None, foreign_key="allocations.id")
    decision_reason: str | None = Field(None, sa_type=sa.String(500))
    decided_by: str | None = Field(None, sa_type=sa.String(200))
    decided_at: datetime | None = Field(None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


# Decided once: a second approval or a rejection after an approval answers 409.
INSTALL_REQUEST = StateMachine("install request", InstallRequest, ("pending", "approved", "rejected"), {
    "approve": ("pending", "approved"),
    "reject": ("pending", "rejected"),
})
