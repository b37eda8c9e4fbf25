"""Webhook subscriptions, the deliveries they are owed and each attempt at one."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.models import GatewayTable
from kernel.db import JSONType, UTCDateTime
from kernel.ids import new_id, utcnow

URL_MAX = 2000


class WebhookBase(SQLModel):
    """What a subscriber states: where to, and which event subjects (SPEC's Events table)."""

    org_id: uuid.UUID = Field(foreign_key="identity_orgs.id", index=True)
    url: str = Field(max_length=URL_MAX, sa_type=sa.String(URL_MAX))
    events: list[str] = Field(sa_type=JSONType)


class Webhook(WebhookBase, GatewayTable, table=True):
    __tablename__ = "webhooks"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_path: str = Field(sa_type=sa.String(2000))
    # The signing secret must be read back to sign each delivery, so it is kept as it was shown
    # (Standard Webhooks' `whsec_` + base64); it signs, it grants no access to the API.
    secret: str = Field(sa_type=sa.String(100))
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
    deleted_at: datetime | None = Field(None, sa_type=UTCDateTime)


class WebhookDelivery(GatewayTable, table=True):
    """One event owed to one webhook: `pending` until the receiver answers 2xx (`delivered`), or
    until the retry window has passed (`failed`). The (webhook, event) key makes the fan-out of a
    redelivered event a no-op."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.UniqueConstraint("webhook_id", "event_id"),
                      sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
                      sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhooks.id", index=True)
    event_id: uuid.UUID
    event_type: str = Field(sa_type=sa.String(200))
    payload: str = Field(sa_type=sa.Text)
    status: str = Field("pending", sa_type=sa.String(20))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(None, sa_type=UTCDateTime)


class WebhookAttempt(GatewayTable, table=True):
    """One POST to a receiver and what came of it."""

    __tablename__ = "webhook_attempts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", index=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhooks.id", index=True)
    attempt: int
    at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(None, sa_type=sa.String(500))
    outcome: str = Field(sa_type=sa.String(20))  # delivered | retrying | failed
