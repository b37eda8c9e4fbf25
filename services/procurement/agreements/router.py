from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel import history
from kernel.auth import CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.procurement.agreements import schemas, service

router = APIRouter(prefix="/api/v1/procurement", tags=["agreements"])
READERS = {"x-roles": ["authenticated"]}
LEAD = {"x-roles": ["procurement"]}


@router.get("/agreements", response_model=Page[schemas.AgreementOut],
            openapi_extra={**READERS, **gives(agreement_id="/items/0/id")},
            summary="Lists agreements of the caller's campaigns (lead, participant or winning supplier).")
async def list_agreements(principal: CurrentPrincipal, session: Session, status: Word | None = None,
                          cursor: Cursor = None, limit: Limit = 100):
    return await service.list_agreements(session, principal, status=status, cursor=cursor, limit=limit)


@router.get("/agreements/{agreement_id}", response_model=schemas.AgreementOut, openapi_extra=READERS,
            summary="Gets an agreement with its unified prices.")
async def get_agreement(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.agreement_out(session, await service.visible_agreement(session, principal, agreement_id))


async def _change(session, principal, agreement_id, action):
    agreement = await service.change_status(session, principal, agreement_id, action)
    return await service.agreement_out(session, agreement)


@router.post("/agreements/{agreement_id}/suspend", response_model=schemas.AgreementOut, openapi_extra=LEAD,
             summary="Suspends an agreement: no orders until it resumes.")
async def suspend(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "suspend")


@router.post("/agreements/{agreement_id}/resume", response_model=schemas.AgreementOut, openapi_extra=LEAD,
             summary="Resumes a suspended agreement.")
async def resume(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "resume")


@router.post("/agreements/{agreement_id}/terminate", response_model=schemas.AgreementOut, openapi_extra=LEAD,
             summary="Ends an agreement for good; remaining demand pre-encumbrances are released.")
async def terminate(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await _change(session, principal, agreement_id, "terminate")


@router.get("/agreements/{agreement_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=READERS,
            summary="Gets an agreement's history.")
async def agreement_history(agreement_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.agreement_history(session, principal, agreement_id, cursor=cursor, limit=limit)
