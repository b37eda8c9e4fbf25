"""What each person's last digest listed, and when it was sent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from gateway.models import GatewayTable
from kernel.db import JSONType, UTCDateTime


class EmailDigest(GatewayTable, table=True):
    __tablename__ = "email_digests"

    user_id: uuid.UUID = Field(foreign_key="identity_users.id", primary_key=True)
    # The keys of what the last e-mail listed ("line:<id>", …): the next one goes out only when
    # something not among them waits.
    listed: list[str] = Field(sa_type=JSONType)
    sent_at: datetime = Field(sa_type=UTCDateTime)
