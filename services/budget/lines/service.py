"""A budget line's life: drafted and submitted by a unit, approved, rejected or returned by finance."""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import LineApproved
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.etags import check_if_match, etag
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory
from kernel.pagination import Page, paginate
from kernel.schema import orgs as orgs_table
from kernel.transitions import Change, Note
from services.budget import visibility
from services.budget.lines import ledger, schemas
from services.budget.lines.closures import year_closed
from services.budget.lines.models import LINE, BudgetLine, LedgerEntry
from services.budget.policies import service as policies

SOURCE = "zhengban/budget"


async def visible_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID) -> BudgetLine:
    line = await session.get(BudgetLine, line_id)
    if line is None or not visibility.sees(principal, line.org_path):
        raise NotFound(f"no budget line {line_id} in your subtree")
    return line


def _require_not_submitter(principal: Principal, line: BudgetLine) -> None:
    # Four eyes: whoever submitted a line may not decide on it, whatever roles they hold.
    if line.submitted_by == history.actor_of(principal):
        raise Forbidden("the approver cannot be the submitter", slug="approver-is-submitter")


async def _price_check(session: AsyncSession, org, category: str, edition: str | None, fiscal_year: int,
                       unit_price_fen: int, quantity: int, justification: str | None) -> dict:
    """What the policy says of a line: its price refused above the cap unless a justified special
    need fits, an OS line refused without a justification, and the procurement method its amount
    calls for in its fiscal year."""
    return priced(await policies.effective_policy(session, org), category, edition, fiscal_year, unit_price_fen,
                  quantity, justification)


def priced(policy, category: str, edition: str | None, fiscal_year: int, unit_price_fen: int, quantity: int,
           justification: str | None) -> dict:
    """_price_check under a policy already read (an import reads each org's once)."""
    if category == "os" and policy.os_needs_justification and not justification:
        raise InvalidInput("the OS comes with the computer (财行〔2013〕98号); an os line needs a justification",
                           slug="os-needs-justification")
    cap = policy.cap_for(category, edition)
    special = False
    if cap is not None and unit_price_fen > cap:
        special_cap = policy.cap_for(category, edition, special=True)
        what = f"{category} {edition}" if edition else category
        # A special-need cap no higher than the cap (an antivirus client's) admits no special need.
        if special_cap is not None and special_cap <= cap:
            raise InvalidInput(f"the unit price {unit_price_fen} fen is above the {what} cap of {cap} fen, "
                               "which has no special-need cap", slug="price-above-special-cap", cap_fen=cap)
        if not justification:
            raise InvalidInput(f"the unit price {unit_price_fen} fen is above the {what} cap of {cap} fen; a "
                               "justification is needed for a special need", slug="price-above-cap", cap_fen=cap)
        if special_cap is not None and unit_price_fen > special_cap:
            raise InvalidInput(f"the unit price {unit_price_fen} fen is above even the special-need cap "
                               f"({special_cap} fen)", slug="price-above-special-cap", cap_fen=special_cap)
        cap, special = special_cap, True
    requested = unit_price_fen * quantity
    method = policy.thresholds_for(fiscal_year).method_for(requested)
    return {"cap_fen": cap, "special_need": special, "requested_fen": requested, "procurement_method": method}


async def create_line(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                      data: schemas.LineCreate) -> BudgetLine:
    org = await orgs.visible(session, principal, data.org_id)
    visibility.EDITORS.require(principal, org.path)
    priced = await _price_check(session, org, data.category, data.edition, data.fiscal_year, data.unit_price_fen,
                                data.quantity, data.justification)
    line = BudgetLine(org_path=org.path, status="draft", created_by=history.actor_of(principal), **priced,
                      **data.model_dump())
    session.add(line)
    await session.flush()
    await history.record(session, "line", line.id, "created", principal, data.model_dump(mode="json"))
    await session.commit()
    return line


def line_etag(line: BudgetLine) -> str:
    """Every change of a line moves its `updated_at`: the version a PATCH holds to."""
    return etag(line.id, line.updated_at)


async def update_line(session: AsyncSession, orgs: OrgDirectory, principal: Principal, line_id: uuid.UUID,
                      data: schemas.LineUpdate, *, if_match: str | None = None) -> BudgetLine:
    line = await visible_line(session, principal, line_id)
    visibility.EDITORS.require(principal, line.org_path)
    # Checked against the version read here; the compare-and-set below writes over that version
    # only, so a change between the two is refused there.
    check_if_match(if_match, line_etag(line))
    LINE.require("edit", line.status)
    changes = data.model_dump(exclude_unset=True)
    merged = {field: changes.get(field, getattr(line, field))
              for field in ("title", "quantity", "unit_price_fen", "justification")}
    org = await orgs.existing(session, line.org_id)
    priced = await _price_check(session, org, line.category, line.edition, line.fiscal_year,
                                merged["unit_price_fen"], merged["quantity"], merged["justification"])
    # The price check read this version of the line; an edit that landed meanwhile would make
    # its figures disagree with the merged fields, so this one is refused rather than mixed in.
    await LINE.apply(session, "edit", line.id, Note(principal, changes),
                     Change({**changes, **priced}, where=[BudgetLine.updated_at == line.updated_at],
                            refused=Conflict("the line was edited meanwhile; read it again", slug="edited-meanwhile")))
    await session.commit()
    return line


async def submit_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID) -> BudgetLine:
    line = await visible_line(session, principal, line_id)
    visibility.EDITORS.require(principal, line.org_path)
    LINE.require("submit", line.status)
    if line.control_fen is not None and line.requested_fen > line.control_fen:
        raise _above_control(line.requested_fen, line.control_fen)
    now = utcnow()
    # The control figure is checked again in the compare-and-set: an edit that raised the
    # request after the read above must not slip through with this submission.
    await LINE.apply(session, "submit", line.id, Note(principal),
                     Change({"submitted_by": history.actor_of(principal), "submitted_at": now},
                            where=[sa.or_(BudgetLine.control_fen.is_(None),
                                          BudgetLine.requested_fen <= BudgetLine.control_fen)],
                            refused=Conflict("the line was edited meanwhile; read it again", slug="edited-meanwhile")))
    await session.commit()
    return line


async def _decide(session: AsyncSession, principal: Principal, line_id: uuid.UUID, command: str) -> BudgetLine:
    line = await visible_line(session, principal, line_id)
    visibility.FINANCE.require(principal, line.org_path)
    LINE.require(command, line.status)
    _require_not_submitter(principal, line)
    return line


@retried
async def approve_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID,
                       data: schemas.Approve) -> BudgetLine:
    line = await _decide(session, principal, line_id, "approve")
    _require_within_requested(line, data.approved_fen)
    actor = history.actor_of(principal)
    # The checks above read the line before its lock; they are part of the compare-and-set too,
    # so that a line returned and resubmitted meanwhile (by the approver now, or for less) is
    # judged as it is when the approval takes it, not as it was read.
    try:
        approved = new_event("budget.line.approved", LineApproved(
            line_id=line.id, org_id=line.org_id, fiscal_year=line.fiscal_year, category=line.category,
            approved_fen=data.approved_fen), source=SOURCE, about=line.id)
        await LINE.apply(session, "approve", line.id,
                         Note(principal, {"approved_fen": data.approved_fen, "note": data.note}),
                         Change({"note": data.note, "decided_by": actor, "decided_at": utcnow()},
                                where=[BudgetLine.requested_fen >= data.approved_fen,
                                       sa.or_(BudgetLine.submitted_by.is_(None), BudgetLine.submitted_by != actor)],
                                events=[approved],
                                refused=Conflict("the line changed meanwhile; read it again", slug="edited-meanwhile")))
    except Conflict as lost:
        if lost.slug == "edited-meanwhile":  # say which check the line as it is now fails
            await session.refresh(line)
            _require_not_submitter(principal, line)
            _require_within_requested(line, data.approved_fen)
        raise
    # Read under the line's lock, after it: a year-end close that committed before this approval
    # is seen, and one still running has locked the line first and made this approval wait
    # (years/service.py), so no line of a closed year takes money.
    if await year_closed(session, line.org_path, line.fiscal_year):
        raise Conflict(f"fiscal year {line.fiscal_year} is closed for this org: its lines take no approvals",
                       slug="year-closed", fiscal_year=line.fiscal_year)
    # The money follows the status it belongs to: only the approval that won funds the line.
    if not await ledger.move(session, line.id, {"approved_fen": data.approved_fen},
                             [{"kind": "approve", "amount_fen": data.approved_fen, "reason": data.note}],
                             actor=actor, only_if_status=("approved",)):
        raise Conflict("the line cannot take that approval", slug="invalid-status", status_now=line.status)
    await session.commit()
    await session.refresh(line)
    return line


def _require_within_requested(line: BudgetLine, approved_fen: int) -> None:
    if approved_fen > line.requested_fen:
        raise InvalidInput(f"approved_fen {approved_fen} is more than the {line.requested_fen} fen requested",
                           slug="approved-above-requested")


async def reject_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID,
                      data: schemas.Reason) -> BudgetLine:
    line = await _decide(session, principal, line_id, "reject")
    await LINE.apply(session, "reject", line.id, Note(principal, {"reason": data.reason}),
                     Change({"reject_reason": data.reason, "decided_by": history.actor_of(principal),
                             "decided_at": utcnow()}))
    await session.commit()
    return line


async def return_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID,
                      data: schemas.Reason) -> BudgetLine:
    line = await _decide(session, principal, line_id, "return")
    await LINE.apply(session, "return", line.id, Note(principal, {"reason": data.reason}),
                     Change({"return_reason": data.reason, "submitted_by": None, "submitted_at": None}))
    await session.commit()
    return line


async def control_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID,
                       data: schemas.Control) -> BudgetLine:
    """一下: finance sets a control figure on a submitted line and sends it back to the unit, which
    resubmits (二上) within it before the approval (二下)."""
    line = await _decide(session, principal, line_id, "control")
    await LINE.apply(session, "control", line.id, Note(principal, data.model_dump()),
                     Change({"control_fen": data.control_fen, "submitted_by": None, "submitted_at": None}))
    await session.commit()
    return line


def _above_control(requested_fen: int, control_fen: int) -> InvalidInput:
    return InvalidInput(f"the {requested_fen} fen requested are above the control figure of {control_fen} fen; "
                        "reduce the request to resubmit", slug="above-control-figure", control_fen=control_fen,
                        requested_fen=requested_fen)


async def close_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID) -> BudgetLine:
    """Closes an approved line at year end: it takes no new pre-encumbrances or reservations."""
    line = await visible_line(session, principal, line_id)
    visibility.FINANCE.require(principal, line.org_path)
    LINE.require("close", line.status)
    await LINE.apply(session, "close", line.id, Note(principal))
    await session.commit()
    return line


def closed_refusal(line_id: uuid.UUID) -> Conflict:
    """A closed line takes no new money and no new commitments (SPEC Budget: closed at year end)."""
    return Conflict(f"line {line_id} is closed: it takes no adjustments, transfers or new commitments",
                    slug="line-closed", status_now="closed")


@retried
async def adjust_line(session: AsyncSession, principal: Principal, line_id: uuid.UUID,
                      data: schemas.Adjustment) -> BudgetLine:
    line = await visible_line(session, principal, line_id)
    visibility.FINANCE.require(principal, line.org_path)
    if line.status == "closed":
        raise closed_refusal(line.id)
    LINE.require("adjust", line.status)
    if data.delta_fen == 0:
        raise InvalidInput("an adjustment of 0 changes nothing", slug="empty-adjustment")
    try:
        await LINE.apply(session, "adjust", line.id, Note(principal, data.model_dump()))
    except Conflict as lost:  # a close won the race for the line
        if lost.extensions.get("status_now") == "closed":
            raise closed_refusal(line.id) from None
        raise
    ok = await ledger.move(session, line.id, {"adjusted_fen": data.delta_fen},
                           [{"kind": "adjust", "amount_fen": data.delta_fen, "reason": data.reason}],
                           actor=history.actor_of(principal), only_if_status=("approved",))
    if not ok:
        raise Conflict("the line does not have that much available to take away", slug="insufficient-funds")
    await session.commit()
    await session.refresh(line)
    return line


async def list_lines(session: AsyncSession, principal: Principal, *, org_id: uuid.UUID | None,
                     fiscal_year: int | None, status: str | None, category: str | None, cursor: str | None,
                     limit: int) -> Page[BudgetLine]:
    """Lists the lines in the caller's subtree, one page at a time."""
    query = sa.select(BudgetLine).where(visibility.scope(principal, BudgetLine.org_path))
    for column, value in ((BudgetLine.org_id, org_id), (BudgetLine.fiscal_year, fiscal_year),
                          (BudgetLine.status, status), (BudgetLine.category, category)):
        if value is not None:
            query = query.where(column == value)
    items, next_cursor = await paginate(session, query, BudgetLine.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


async def line_entries(session: AsyncSession, principal: Principal, line_id: uuid.UUID, *, cursor: str | None,
                       limit: int) -> Page[LedgerEntry]:
    """Lists a visible line's ledger entries, oldest first."""
    await visible_line(session, principal, line_id)
    return await ledger.entries_page(session, line_id, cursor=cursor, limit=limit)


async def line_history(session: AsyncSession, principal: Principal, line_id: uuid.UUID, *, cursor: str | None,
                       limit: int) -> Page[history.HistoryEntry]:
    """Gets a visible line's history, oldest first."""
    await visible_line(session, principal, line_id)
    return await history.history_page(session, line_id, cursor=cursor, limit=limit)


async def summary(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                  fiscal_year: int) -> schemas.Summary:
    """Per org of the subtree and category: requested, approved, reserved, spent, available."""
    org = await orgs.visible(session, principal, org_id)
    rows = (await session.execute(
        sa.select(BudgetLine.org_id, orgs_table.c.name, BudgetLine.category, sa.func.count(),
                  sa.func.sum(BudgetLine.requested_fen),
                  sa.func.sum(BudgetLine.approved_fen + BudgetLine.adjusted_fen),
                  sa.func.sum(BudgetLine.pre_encumbered_fen), sa.func.sum(BudgetLine.reserved_fen),
                  sa.func.sum(BudgetLine.spent_fen))
        .join(orgs_table, orgs_table.c.id == BudgetLine.org_id, isouter=True)
        .where(BudgetLine.org_path.startswith(org.path, autoescape=True), BudgetLine.fiscal_year == fiscal_year,
               BudgetLine.status != "rejected")
        .group_by(BudgetLine.org_id, orgs_table.c.name, BudgetLine.category)
        .order_by(orgs_table.c.name, BudgetLine.category))).all()

    def row(org_id, name, category, count, requested, approved, pre, reserved, spent) -> schemas.SummaryRow:
        approved, pre, reserved, spent = (int(v or 0) for v in (approved, pre, reserved, spent))
        return schemas.SummaryRow(
            org_id=org_id, org_name=name or "", category=category, lines=count, requested_fen=int(requested or 0),
            approved_fen=approved, pre_encumbered_fen=pre, reserved_fen=reserved, spent_fen=spent,
            available_fen=approved - pre - reserved - spent,
            execution_rate=round(spent / approved, 4) if approved else 0.0)

    items = [row(*r) for r in rows]
    total = defaultdict(int)
    for item in items:
        for field in ("lines", "requested_fen", "approved_fen", "pre_encumbered_fen", "reserved_fen", "spent_fen"):
            total[field] += getattr(item, field)
    totals = row(org.id, org.name, "all", total["lines"], total["requested_fen"], total["approved_fen"],
                 total["pre_encumbered_fen"], total["reserved_fen"], total["spent_fen"])
    return schemas.Summary(org_id=org.id, fiscal_year=fiscal_year, rows=items, totals=totals)
