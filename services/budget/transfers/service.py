"""A budget transfer's life: requested by a budget editor between two approved lines of one org and
fiscal year, approved or rejected by finance (never the requester); the approval moves the money."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contention import retried
from kernel.contracts import TransferChanged
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.outbox import add_event
from kernel.transitions import Change, Note
from services.budget import visibility
from services.budget.lines import ledger
from services.budget.lines.models import LINE, BudgetLine
from services.budget.lines.schemas import Reason
from services.budget.lines.service import closed_refusal, visible_line
from services.budget.transfers import schemas
from services.budget.transfers.models import TRANSFER, BudgetTransfer

SOURCE = "zhengban/budget"


def announce(transfer: BudgetTransfer, status: str, reason: str | None):
    """budget.transfer.<status>: the transfer as it is after the change (beyond SPEC's event table,
    see docs/budget.md); written to the outbox in the change's own transaction."""
    return new_event(f"budget.transfer.{status}", TransferChanged(
        transfer_id=transfer.id, org_id=transfer.org_id, fiscal_year=transfer.fiscal_year,
        from_line_id=transfer.from_line_id, to_line_id=transfer.to_line_id, amount_fen=transfer.amount_fen,
        status=status, reason=reason), source=SOURCE, about=transfer.id)


def insufficient(source: BudgetLine, amount_fen: int) -> Conflict:
    return Conflict(f"the source line has {source.available_fen} fen available, not the {amount_fen} fen to move",
                    slug="insufficient-funds", available_fen=source.available_fen)


async def visible_transfer(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> BudgetTransfer:
    transfer = await session.get(BudgetTransfer, transfer_id)
    if transfer is None or not visibility.sees(principal, transfer.org_path):
        raise NotFound(f"no budget transfer {transfer_id} in your subtree")
    return transfer


async def request_transfer(session: AsyncSession, principal: Principal,
                           data: schemas.TransferCreate) -> BudgetTransfer:
    source = await visible_line(session, principal, data.from_line_id)
    target = await visible_line(session, principal, data.to_line_id)
    visibility.EDITORS.require(principal, source.org_path)
    if source.id == target.id:
        raise InvalidInput("a transfer needs two different lines", slug="transfer-same-line")
    if (source.org_id, source.fiscal_year) != (target.org_id, target.fiscal_year):
        raise InvalidInput("a transfer stays within one org and fiscal year", slug="transfer-across-orgs-or-years")
    for line in (source, target):
        if line.status == "closed":
            raise closed_refusal(line.id)
        if line.status != "approved":
            raise Conflict(f"line {line.id} is {line.status}; a transfer is between approved lines",
                           slug="invalid-status", status_now=line.status)
    # Refused at once rather than left pending to fail at approval (which checks again, under
    # the lines' locks: the money may go elsewhere meanwhile).
    if data.amount_fen > source.available_fen:
        raise insufficient(source, data.amount_fen)
    transfer = BudgetTransfer(org_id=source.org_id, org_path=source.org_path, fiscal_year=source.fiscal_year,
                              status="pending", requested_by=history.actor_of(principal), **data.model_dump())
    session.add(transfer)
    await session.flush()
    await history.record(session, "transfer", transfer.id, "requested", principal, data.model_dump(mode="json"))
    await add_event(session, announce(transfer, "requested", transfer.reason))
    await session.commit()
    return transfer


async def _decide(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID,
                  command: str) -> BudgetTransfer:
    transfer = await visible_transfer(session, principal, transfer_id)
    visibility.FINANCE.require(principal, transfer.org_path)
    TRANSFER.require(command, transfer.status)
    # Four eyes: whoever asked for a transfer may not decide on it, whatever roles they hold.
    if transfer.requested_by == history.actor_of(principal):
        raise Forbidden("the approver cannot be the requester", slug="approver-is-requester")
    return transfer


@retried
async def approve_transfer(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> BudgetTransfer:
    transfer = await _decide(session, principal, transfer_id, "approve")
    actor = history.actor_of(principal)
    await TRANSFER.apply(session, "approve", transfer.id, Note(principal),
                         Change({"decided_by": actor, "decided_at": utcnow()},
                                events=[announce(transfer, "approved", transfer.reason)]))
    # Only the approval that won moves money, and only what the source line has available; both
    # moves are conditional UPDATEs in this transaction, taken in line-id order so that two
    # transfers in opposite directions cannot deadlock.
    moves = {transfer.from_line_id: -transfer.amount_fen, transfer.to_line_id: transfer.amount_fen}
    for line_id in sorted(moves):
        delta = moves[line_id]
        entry = {"kind": "transfer", "amount_fen": delta, "ref_id": transfer.id, "reason": transfer.reason}
        if not await ledger.move(session, line_id, {"adjusted_fen": delta}, [entry], actor=actor,
                                 only_if_status=("approved",)):
            if await LINE.status_of(session, line_id) == "closed":
                raise closed_refusal(line_id)
            if delta < 0:
                raise insufficient(await session.get(BudgetLine, line_id, populate_existing=True),
                                   transfer.amount_fen)
            raise Conflict("the receiving line is no longer approved", slug="invalid-status")
    await session.commit()
    return transfer


async def reject_transfer(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID,
                          data: Reason) -> BudgetTransfer:
    transfer = await _decide(session, principal, transfer_id, "reject")
    await TRANSFER.apply(session, "reject", transfer.id, Note(principal, {"reason": data.reason}),
                         Change({"reject_reason": data.reason, "decided_by": history.actor_of(principal),
                                 "decided_at": utcnow()},
                                events=[announce(transfer, "rejected", data.reason)]))
    await session.commit()
    return transfer


def transfers_query(principal: Principal, org_id: uuid.UUID | None, status: str | None) -> sa.Select:
    query = sa.select(BudgetTransfer).where(visibility.scope(principal, BudgetTransfer.org_path))
    for column, value in ((BudgetTransfer.org_id, org_id), (BudgetTransfer.status, status)):
        if value is not None:
            query = query.where(column == value)
    return query
