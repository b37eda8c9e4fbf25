from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from kernel import history
from kernel.auth import CurrentPrincipal
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.licenses.install_requests import schemas, service
from services.licenses.install_requests.models import InstallRequest
from services.licenses.users.directory import Users
from services.licenses.visibility import IT_ADMINS, IT_ADMINS_AND_STAFF

router = APIRouter(prefix="/api/v1/licenses", tags=["install requests"])
# Staff read their own requests; IT admins and auditors the org's (visibility.install_request_reach).
DECISION_ANSWERS = {409: {"description": "decided already (invalid-status), or no seat left in the pool "
                                         "(no-seats-available): the request stays pending"}}


@router.post("/install-requests", status_code=201, response_model=schemas.InstallRequestOut,
             openapi_extra={**IT_ADMINS_AND_STAFF, **gives(request_id="/id")},
             summary="Asks for a title to be installed on or removed from a device.")
async def create_install_request(data: schemas.InstallRequestCreate, principal: CurrentPrincipal, session: Session):
    return await service.request_install(session, principal, data)


@router.get("/install-requests", response_model=Page[schemas.InstallRequestOut],
            openapi_extra={**IT_ADMINS_AND_STAFF, **gives(request_id="/items/0/id")},
            summary="Lists install requests: a staff member's own, or the subtree's for IT admins and auditors.")
async def list_install_requests(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                                status: Literal["pending", "approved", "rejected"] | None = None,
                                device_id: uuid.UUID | None = None, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.requests_query(principal, org_id, status, device_id),
                                        InstallRequest.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/install-requests/{request_id}", response_model=schemas.InstallRequestOut,
            openapi_extra=IT_ADMINS_AND_STAFF, summary="Gets an install request.")
async def get_install_request(request_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_request(session, principal, request_id)


@router.get("/install-requests/{request_id}/history", response_model=Page[history.HistoryEntry],
            openapi_extra=IT_ADMINS_AND_STAFF,
            summary="Gets an install request's history: asked, approved or rejected.")
async def install_request_history(request_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                                  cursor: Cursor = None, limit: Limit = 100):
    await service.visible_request(session, principal, request_id)
    return await history.history_page(session, request_id, cursor=cursor, limit=limit)


@router.post("/install-requests/{request_id}/approve", response_model=schemas.InstallRequestOut,
             openapi_extra=IT_ADMINS, responses=DECISION_ANSWERS,
             summary="Approves: an install takes a seat of pool_id for the device, an uninstall gives it back.")
async def approve_install_request(request_id: uuid.UUID, data: schemas.Approval, principal: CurrentPrincipal,
                                  session: Session, users: Users):
    return await service.approve(session, principal, users, request_id, data)


@router.post("/install-requests/{request_id}/reject", response_model=schemas.InstallRequestOut,
             openapi_extra=IT_ADMINS, responses=DECISION_ANSWERS, summary="Rejects an install request, with a reason.")
async def reject_install_request(request_id: uuid.UUID, data: schemas.Rejection, principal: CurrentPrincipal,
                                 session: Session):
    return await service.reject(session, principal, request_id, data)
