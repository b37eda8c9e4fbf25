"""What the licenses service knows of the gateway's users: enough to give a seat only to a user
of the pool org's subtree."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import utcnow
from services.licenses.models import Base


class KnownUser(Base):
    """A user as identity.user.created announced it (or the gateway answered for it)."""

    __tablename__ = "known_users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # Org paths never change, so the copy stays true.
    org_path: Mapped[str] = mapped_column(sa.String(2000), index=True)
    username: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
