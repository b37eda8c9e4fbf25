"""The OCDS export: a reader of campaigns, agreements and orders alike, so it sits beside them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.deps import Session
from services.procurement.ocds import service

router = APIRouter(prefix="/api/v1/procurement", tags=["campaigns"])


@router.get("/campaigns/{campaign_id}/ocds", openapi_extra=SIGNED_IN, response_class=service.ExactJSONResponse,
            summary="The campaign as an OCDS 1.1 release package, holding what the caller may see.")
async def campaign_ocds(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session, request: Request):
    return service.ExactJSONResponse(await service.campaign_package(session, principal, campaign_id,
                                                                    str(request.base_url).rstrip("/")))
