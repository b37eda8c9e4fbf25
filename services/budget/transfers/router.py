from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.budget import visibility
from services.budget.lines.schemas import Reason
from services.budget.transfers import schemas, service
from services.budget.transfers.models import BudgetTransfer

router = APIRouter(prefix="/api/v1/budget", tags=["budget transfers"])


@router.post("/transfers", status_code=201, response_model=schemas.TransferOut,
             openapi_extra={**visibility.EDITORS, **gives(transfer_id="/id")},
             summary="Requests a transfer (调剂) between two approved lines of one org and fiscal year.")
async def request_transfer(data: schemas.TransferCreate, principal: CurrentPrincipal, session: Session):
    return await service.request_transfer(session, principal, data)


@router.get("/transfers", response_model=Page[schemas.TransferOut],
            openapi_extra={**SIGNED_IN, **gives(transfer_id="/items/0/id")},
            summary="Lists budget transfers in the caller's subtree.")
async def list_transfers(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                         status: Word | None = None, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.transfers_query(principal, org_id, status),
                                        BudgetTransfer.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/transfers/{transfer_id}", response_model=schemas.TransferOut, openapi_extra=SIGNED_IN,
            summary="Gets a budget transfer.")
async def get_transfer(transfer_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_transfer(session, principal, transfer_id)


@router.get("/transfers/{transfer_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a transfer's history: who requested and who decided it, when.")
async def transfer_history(transfer_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                           cursor: Cursor = None, limit: Limit = 100):
    await service.visible_transfer(session, principal, transfer_id)
    return await history.history_page(session, transfer_id, cursor=cursor, limit=limit)


@router.post("/transfers/{transfer_id}/approve", response_model=schemas.TransferOut, openapi_extra=visibility.FINANCE,
             summary="Approves a pending transfer and moves the money (finance over the org; not the requester).")
async def approve_transfer(transfer_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.approve_transfer(session, principal, transfer_id)


@router.post("/transfers/{transfer_id}/reject", response_model=schemas.TransferOut, openapi_extra=visibility.FINANCE,
             summary="Rejects a pending transfer, with a reason.")
async def reject_transfer(transfer_id: uuid.UUID, data: Reason, principal: CurrentPrincipal, session: Session):
    return await service.reject_transfer(session, principal, transfer_id, data)
