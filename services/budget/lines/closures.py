"""Fiscal years closed over an org subtree (years/service.py closes them): after a close, no line of
that subtree and year takes an approval (nor, through its line, a demand or an order). Kept with
the lines, whose approval reads it."""

from __future__ import annotations

import sqlalchemy as sa

from services.budget.lines.models import YearClosure


def _subtrees_holding(org_path: str) -> list[str]:
    """The org paths whose subtrees hold `org_path`: itself and each ancestor's."""
    return [org_path[:i + 1] for i, char in enumerate(org_path) if char == "/" and i > 0]


async def year_closed(session, org_path: str, fiscal_year: int) -> bool:
    """Whether the fiscal year was closed over a subtree that holds this org. Read in its own
    statement, so on PostgreSQL it sees every close committed before it (READ COMMITTED)."""
    return (await session.execute(sa.select(YearClosure.id).where(
        YearClosure.fiscal_year == fiscal_year, YearClosure.org_path.in_(_subtrees_holding(org_path))).limit(1))
    ).first() is not None
