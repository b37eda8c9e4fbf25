from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import utcnow
from services.budget.models import Base


class Policy(Base):
    """An org's own price caps and procurement threshold; its descendants inherit them."""

    __tablename__ = "policies"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(sa.String(2000), unique=True)
    caps: Mapped[dict[str, Any]] = mapped_column()
    special_caps: Mapped[dict[str, Any]] = mapped_column()
    decentralized_threshold_fen: Mapped[int] = mapped_column(sa.BigInteger)
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
