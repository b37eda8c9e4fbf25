"""Fiscal years closed over an org subtree: after a close, no line of that subtree and year takes
an approval (nor, through its line, a demand or an order)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from services.budget.models import BudgetTable


class YearClosure(BudgetTable, table=True):
    __tablename__ = "fiscal_year_closures"
    __table_args__ = (sa.UniqueConstraint("org_path", "fiscal_year"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: uuid.UUID
    org_path: str = Field(sa_type=sa.String(2000))
    fiscal_year: int
    closed_by: str = Field(sa_type=sa.String(200))
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _subtrees_holding(org_path: str) -> list[str]:
    """The org paths whose subtrees hold `org_path`: itself and each ancestor's."""
    return [org_path[:i + 1] for i, char in enumerate(org_path) if char == "/" and i > 0]


async def year_closed(session, org_path: str, fiscal_year: int) -> bool:
    """Whether the fiscal year was closed over a subtree that holds this org. Read in its own
    statement, so on PostgreSQL it sees every close committed before it (READ COMMITTED)."""
    return (await session.execute(sa.select(YearClosure.id).where(
        YearClosure.fiscal_year == fiscal_year, YearClosure.org_path.in_(_subtrees_holding(org_path))).limit(1))
    ).first() is not None
