from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import utcnow
from services.budget.models import Base


class Policy(Base):
    """An org's own policy document (`kernel.policies.PolicyDocument`: the fields it sets); its
    subtree inherits each field it sets, field by field."""

    __tablename__ = "policies"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column()
    # Counts the org's PUTs: the copies procurement and licenses keep apply a change only if it is
    # newer than the one they hold, whatever order the events arrive in.
    revision: Mapped[int] = mapped_column(sa.BigInteger, default=1)
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
