"""The year-end close of a fiscal year over an org subtree (SPEC Budget: "an approved line can be
`closed` at year end"; issue 20: "releases what is still held and says what it released").

In one transaction: every line of the subtree and year that is `approved` is closed, and whatever
any of its lines still holds — demands' pre-encumbrances, orders' reservations — is released with
ledger entries, one per demand or order (`release_preencumbrance` / `release`, the same kinds and
keys as the order flow's own releases, so a later `demand.released` or `order.cancelled` for them
finds the release and changes nothing). Each released reservation is announced as
`budget.reservation.released` (reason `line_closed`), each closed line as `budget.line.closed`.

Race-safety: the lines are locked (SELECT … FOR UPDATE, in id order) before their holds are read,
so a reservation or pre-encumbrance racing the close either commits first (and is released by it)
or waits and then finds the line `closed` (and is refused with `line_closed`). On SQLite every
write transaction is BEGIN IMMEDIATE, which serializes the same way. Closing again releases nothing
and says so; a line approved after a close is closed by the next one.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import LineClosed, ReservationAnswered
from kernel.db import insert_ignore
from kernel.errors import Conflict
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from kernel.orgs import OrgDirectory
from kernel.outbox import add_events
from kernel.transitions import Change, Note
from services.budget import visibility
from services.budget.lines import ledger
from services.budget.lines.models import LINE, BudgetLine, LedgerEntry, YearClosure
from services.budget.lines.service import SOURCE
from services.budget.years import schemas

REASON = "line_closed"


async def _held(session: AsyncSession, line_id: uuid.UUID, kinds: tuple[str, str], key) -> list[tuple[uuid.UUID, int]]:
    """What each demand (or order) still holds on the line, from the ledger: (id, fen) where > 0."""
    rows = (await session.execute(
        sa.select(key, sa.func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.line_id == line_id, LedgerEntry.kind.in_(kinds), key.is_not(None))
        .group_by(key).order_by(key))).all()
    return [(ref, int(fen)) for ref, fen in rows if fen and int(fen) > 0]


async def _close_one(session: AsyncSession, principal: Principal, line: BudgetLine, fiscal_year: int,
                     ) -> schemas.ClosedLine | None:
    demands = await _held(session, line.id, ("preencumber", "release_preencumbrance"), LedgerEntry.demand_id)
    orders = await _held(session, line.id, ("reserve", "release"), LedgerEntry.ref_id)
    closing = line.status == "approved"
    if not closing and not demands and not orders:
        return None
    actor = history.actor_of(principal)
    why = f"year-end close of {fiscal_year}"
    pre, reserved = sum(fen for _, fen in demands), sum(fen for _, fen in orders)
    entries = ([{"kind": "release_preencumbrance", "amount_fen": -fen, "ref_id": demand_id, "demand_id": demand_id,
                 "reason": why} for demand_id, fen in demands]
               + [{"kind": "release", "amount_fen": -fen, "ref_id": order_id, "reason": why}
                  for order_id, fen in orders])
    released = schemas.ClosedLine(
        line_id=line.id, org_id=line.org_id, category=line.category, title=line.title, closed_now=closing,
        released_pre_encumbered_fen=pre, released_reserved_fen=reserved,
        demand_ids=[d for d, _ in demands], order_ids=[o for o, _ in orders], spent_fen=line.spent_fen,
        lapsed_fen=line.available_fen + pre + reserved)
    events = [new_event("budget.reservation.released", ReservationAnswered(
        order_id=order_id, line_id=line.id, org_id=line.org_id, amount_fen=fen, reason=REASON),
        source=SOURCE, about=order_id) for order_id, fen in orders]
    events.append(new_event("budget.line.closed", LineClosed(
        line_id=line.id, org_id=line.org_id, fiscal_year=line.fiscal_year, category=line.category,
        released_pre_encumbered_fen=pre, released_reserved_fen=reserved, demand_ids=released.demand_ids,
        order_ids=released.order_ids), source=SOURCE, about=line.id))
    data = {"fiscal_year": fiscal_year, "released_pre_encumbered_fen": pre, "released_reserved_fen": reserved,
            "demand_ids": [str(d) for d in released.demand_ids], "order_ids": [str(o) for o in released.order_ids]}
    if closing:
        await LINE.apply(session, "close", line.id, Note(principal, data), Change(events=events))
    else:  # closed before (POST /lines/{id}/close) with commitments still running: the year ends them
        await history.record(session, "line", line.id, "released_at_year_end", principal, data)
        await add_events(session, events)
    if entries and not await ledger.move(session, line.id, {"pre_encumbered_fen": -pre, "reserved_fen": -reserved},
                                         entries, actor=actor):
        raise Conflict(f"line {line.id} no longer holds what its ledger says", slug="ledger-mismatch")
    return released


@retried
async def close_year(session: AsyncSession, orgs: OrgDirectory, principal: Principal, fiscal_year: int,
                     data: schemas.YearClose) -> schemas.YearClosed:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.FINANCE.require(principal, org.path)
    of_year = [BudgetLine.org_path.startswith(org.path, autoescape=True), BudgetLine.fiscal_year == fiscal_year]
    holding = sa.or_(BudgetLine.pre_encumbered_fen > 0, BudgetLine.reserved_fen > 0)
    # The year is marked closed first: an approval of one of its lines that commits after this
    # close is refused (lines.service.approve_line reads the mark under its line's lock).
    await session.execute(insert_ignore(session, YearClosure.__table__, index_elements=["org_path", "fiscal_year"])
                          .values(id=new_id(), org_id=org.id, org_path=org.path, fiscal_year=fiscal_year,
                                  closed_by=history.actor_of(principal), closed_at=utcnow()))
    # Locked in id order, so that two closes of overlapping subtrees, and a close and a transfer's
    # two-line move, take the locks in one order and cannot deadlock. Submitted lines are locked
    # too: an approval racing the close then either commits first (and this close, finding the
    # line approved once it may lock it, closes it) or waits, and then finds the year closed.
    lines = (await session.execute(
        sa.select(BudgetLine).where(*of_year, sa.or_(BudgetLine.status.in_(("approved", "submitted")),
                                                     sa.and_(BudgetLine.status == "closed", holding)))
        .order_by(BudgetLine.id).with_for_update().execution_options(populate_existing=True))).scalars().all()
    report = [closed for line in lines if (closed := await _close_one(session, principal, line, fiscal_year))]
    already = (await session.execute(sa.select(sa.func.count()).select_from(BudgetLine).where(
        *of_year, BudgetLine.status == "closed",
        BudgetLine.id.not_in([r.line_id for r in report if r.closed_now] or [uuid.UUID(int=0)])))).scalar()
    await session.commit()
    pre = sum(r.released_pre_encumbered_fen for r in report)
    reserved = sum(r.released_reserved_fen for r in report)
    totals = schemas.YearCloseTotals(
        lines_closed=sum(1 for r in report if r.closed_now), lines_already_closed=int(already),
        released_pre_encumbered_fen=pre, released_reserved_fen=reserved, released_fen=pre + reserved,
        lapsed_fen=sum(r.lapsed_fen for r in report))
    if report:
        message = (f"closed {totals.lines_closed} line(s) of {fiscal_year}; released {pre} fen pre-encumbered and "
                   f"{reserved} fen reserved")
    else:
        message = (f"nothing to close in {fiscal_year}: {totals.lines_already_closed} line(s) closed already, "
                   "nothing held, nothing released")
    return schemas.YearClosed(org_id=org.id, fiscal_year=fiscal_year, closed_by=history.actor_of(principal),
                              closed_at=utcnow(), released_nothing=pre + reserved == 0, message=message,
                              lines=report, totals=totals)
