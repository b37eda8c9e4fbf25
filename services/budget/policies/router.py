from __future__ import annotations

import uuid

from fastapi import APIRouter

from kernel.auth import CurrentPrincipal
from kernel.deps import Orgs, Session
from services.budget.policies import schemas, service

router = APIRouter(prefix="/api/v1/budget", tags=["policies"])


@router.get("/policies/{org_id}", response_model=schemas.PolicyOut, openapi_extra={"x-roles": ["authenticated"]},
            summary="Gets the effective policy of an org: its own, else its nearest ancestor's, else the defaults.")
async def get_policy(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.get_policy(session, orgs, principal, org_id)


@router.put("/policies/{org_id}", response_model=schemas.PolicyOut, openapi_extra={"x-roles": ["finance"]},
            summary="Sets an org's price caps and procurement threshold (inherited by its subtree).")
async def put_policy(org_id: uuid.UUID, data: schemas.PolicyIn, principal: CurrentPrincipal, session: Session,
                     orgs: Orgs):
    return await service.put_policy(session, orgs, principal, org_id, data)
