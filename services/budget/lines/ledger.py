"""Moving a line's money. Each movement is one conditional UPDATE of the line's counters plus its
ledger entries, in the caller's transaction: the UPDATE's WHERE says "only if the line can afford
it", so concurrent movements never read-then-write and never overdraw (the CHECK backs it up)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.bounds import RUNNING_TOTAL_MAX
from kernel.errors import InvalidInput
from kernel.ids import new_id, utcnow
from kernel.pagination import Page, paginate
from services.budget.lines.models import BudgetLine, LedgerEntry

COUNTERS = ("approved_fen", "adjusted_fen", "pre_encumbered_fen", "reserved_fen", "spent_fen")
# How each counter counts towards `available_fen`.
SIGN = {"approved_fen": 1, "adjusted_fen": 1, "pre_encumbered_fen": -1, "reserved_fen": -1, "spent_fen": -1}


def available():
    return (BudgetLine.approved_fen + BudgetLine.adjusted_fen - BudgetLine.pre_encumbered_fen
            - BudgetLine.reserved_fen - BudgetLine.spent_fen)


async def move(session: AsyncSession, line_id: uuid.UUID, changes: dict[str, int], entries: list[dict], *,
               actor: str, only_if_status: tuple[str, ...] | None = None) -> bool:
    """Applies counter `changes` and appends `entries` if the line stays solvent; False if not."""
    now = utcnow()
    effect = sum(SIGN[column] * delta for column, delta in changes.items())
    conditions = [BudgetLine.id == line_id, available() + effect >= 0]
    # Adjustments may be negative; what is held (pre-encumbered, reserved, spent) may not.
    conditions += [getattr(BudgetLine, c) + d >= 0 for c, d in changes.items() if d < 0 and c != "adjusted_fen"]
    # No counter is carried past what a running total may hold; the bound is moved to the
    # constant's side so that the test itself cannot overflow.
    bounds = _within_bounds(changes)
    conditions += bounds
    if only_if_status:
        conditions.append(BudgetLine.status.in_(only_if_status))
    values = {column: getattr(BudgetLine, column) + delta for column, delta in changes.items() if delta}
    done = await session.execute(sa.update(BudgetLine).where(*conditions).values(**values, updated_at=now))
    if done.rowcount != 1:
        if bounds and (await session.execute(sa.select(BudgetLine.id).where(
                BudgetLine.id == line_id, sa.not_(sa.and_(*bounds))))).first() is not None:
            raise InvalidInput(f"this change would carry the line's figures past {RUNNING_TOTAL_MAX} fen",
                               slug="running-total-out-of-range", limit_fen=RUNNING_TOTAL_MAX)
        return False
    if entries:
        await session.execute(sa.insert(LedgerEntry), [
            {"id": new_id(), "line_id": line_id, "ref_id": None, "demand_id": None, "reason": None, "actor": actor,
             "at": now, **entry} for entry in entries])
    return True


def _within_bounds(changes: dict[str, int]) -> list[sa.ColumnElement[bool]]:
    bounds = []
    for column, delta in changes.items():
        counter = getattr(BudgetLine, column)
        if delta > 0:
            bounds.append(counter <= RUNNING_TOTAL_MAX - delta)
        elif delta < 0 and column == "adjusted_fen":
            bounds.append(counter >= -RUNNING_TOTAL_MAX - delta)
    return bounds


async def has_entry(session: AsyncSession, line_id: uuid.UUID, kind: str, ref_id: uuid.UUID) -> bool:
    return (await session.execute(sa.select(LedgerEntry.id).where(
        LedgerEntry.line_id == line_id, LedgerEntry.kind == kind, LedgerEntry.ref_id == ref_id))).first() is not None


async def sum_for(session: AsyncSession, line_id: uuid.UUID, kind: str, *, ref_id: uuid.UUID | None = None,
                  demand_id: uuid.UUID | None = None) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.line_id == line_id, LedgerEntry.kind == kind)
    if ref_id is not None:
        query = query.where(LedgerEntry.ref_id == ref_id)
    if demand_id is not None:
        query = query.where(LedgerEntry.demand_id == demand_id)
    return int((await session.execute(query)).scalar())


async def held_for_demand(session: AsyncSession, line_id: uuid.UUID, demand_id: uuid.UUID) -> int:
    """What a demand still holds pre-encumbered: its pre-encumbrance less what was released or
    turned into reservations since (releases are stored negative)."""
    return (await sum_for(session, line_id, "preencumber", demand_id=demand_id)
            + await sum_for(session, line_id, "release_preencumbrance", demand_id=demand_id))


async def ledger_totals(session: AsyncSession, line_id: uuid.UUID) -> dict[str, int]:
    """The line's figures recomputed from its ledger alone (what the counters must equal)."""
    rows = dict((await session.execute(sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
                                       .where(LedgerEntry.line_id == line_id).group_by(LedgerEntry.kind))).all())
    get = lambda kind: int(rows.get(kind) or 0)  # noqa: E731
    return {"approved_fen": get("approve"), "adjusted_fen": get("adjust") + get("transfer"),
            "pre_encumbered_fen": get("preencumber") + get("release_preencumbrance"),
            "reserved_fen": get("reserve") + get("release"),
            "spent_fen": get("spend")}


async def entries_page(session: AsyncSession, line_id: uuid.UUID, *, cursor: str | None,
                       limit: int) -> Page[LedgerEntry]:
    """Lists a line's ledger entries, oldest first (the caller has checked the line is visible)."""
    items, next_cursor = await paginate(session, sa.select(LedgerEntry).where(LedgerEntry.line_id == line_id),
                                        LedgerEntry.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)
