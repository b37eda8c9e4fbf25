from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.deps import Orgs, Session
from kernel.etags import IfMatch, with_etag
from services.budget import visibility
from services.budget.policies import schemas, service

router = APIRouter(prefix="/api/v1/budget", tags=["policies"])


@router.get("/policies/{org_id}", response_model=schemas.PolicyOut, openapi_extra=SIGNED_IN,
            summary="Gets the effective policy of an org: its own, else its nearest ancestor's, else the defaults.")
async def get_policy(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                     response: Response):
    policy, tag = await service.get_policy(session, orgs, principal, org_id)
    with_etag(response, tag)
    return policy


@router.put("/policies/{org_id}", response_model=schemas.PolicyOut, openapi_extra=visibility.FINANCE,
            summary="Sets an org's price caps and procurement threshold (inherited by its subtree); needs If-Match.")
async def put_policy(org_id: uuid.UUID, data: schemas.PolicyIn, principal: CurrentPrincipal, session: Session,
                     orgs: Orgs, response: Response, if_match: IfMatch = None):
    policy, tag = await service.put_policy(session, orgs, principal, org_id, data, if_match=if_match)
    with_etag(response, tag)
    return policy
