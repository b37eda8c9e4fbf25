from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import JSONType, UTCDateTime
from kernel.ids import utcnow
from services.budget.models import BudgetTable


class Policy(BudgetTable, table=True):
    """An org's own policy document (`kernel.notices.PolicyDocument`: the fields it sets); its
    subtree inherits each field it sets, field by field."""

    __tablename__ = "policies"

    org_id: uuid.UUID = Field(primary_key=True)
    org_path: str = Field(unique=True, sa_type=sa.String(2000))
    document: dict[str, Any] = Field(sa_type=JSONType)
    # Counts the org's PUTs: the copies procurement and licenses keep apply a change only if it is
    # newer than the one they hold, whatever order the events arrive in.
    revision: int = Field(1, sa_type=sa.BigInteger)
    updated_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})
