"""What the licenses service knows of the gateway's users: enough to give a seat only to a user
of the pool org's subtree."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import utcnow
from services.licenses.models import LicensesTable


class KnownUser(LicensesTable, table=True):
    """A user as identity.user.created announced it (or the gateway answered for it), moved to
    another org by identity.user.changed."""

    __tablename__ = "known_users"

    id: uuid.UUID = Field(primary_key=True)
    org_id: uuid.UUID = Field(index=True)
    # An org's path never changes; a user's org does, and identity.user.changed brings the new one.
    org_path: str = Field(index=True, sa_type=sa.String(2000))
    username: str = Field(sa_type=sa.String(100))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the gateway made the state this row copies (null: as created, older than any change), so
    # that a change redelivered after a newer one changes nothing.
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
