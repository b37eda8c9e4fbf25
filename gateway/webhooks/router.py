from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from gateway.webhooks import schemas, service
from gateway.webhooks.models import Webhook, WebhookAttempt
from kernel.auth import ADMINS, CurrentPrincipal
from kernel.deps import Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate

router = APIRouter(prefix="/api/v1/identity", tags=["webhooks"])


@router.post("/webhooks", status_code=201, response_model=schemas.WebhookCreated,
             openapi_extra={**ADMINS, **gives(webhook_id="/id")},
             summary="Subscribes a URL to events of an org's subtree; the signing secret is shown once.")
async def create_webhook(data: schemas.WebhookCreate, principal: CurrentPrincipal, session: Session):
    webhook = await service.create_webhook(session, principal, data)
    return schemas.WebhookCreated.model_validate(webhook, from_attributes=True)


@router.get("/webhooks", response_model=Page[schemas.WebhookOut],
            openapi_extra={**ADMINS, **gives(webhook_id="/items/0/id")},
            summary="Lists the webhooks of the caller's subtree (never their secrets).")
async def list_webhooks(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                        cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.webhooks_query(principal, org_id), Webhook.id,
                                        cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/webhooks/{webhook_id}", response_model=schemas.WebhookOut, openapi_extra=ADMINS,
            summary="Gets a webhook (never its secret).")
async def get_webhook(webhook_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.visible_webhook(session, principal, webhook_id)


@router.delete("/webhooks/{webhook_id}", status_code=204, openapi_extra=ADMINS,
               summary="Removes a webhook; what it was still owed is not sent.")
async def delete_webhook(webhook_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    await service.delete_webhook(session, principal, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[schemas.AttemptOut], openapi_extra=ADMINS,
            summary="Every attempt at delivering an event to the webhook, oldest first.")
async def webhook_deliveries(webhook_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                             cursor: Cursor = None, limit: Limit = 100):
    webhook = await service.visible_webhook(session, principal, webhook_id)
    rows, next_cursor = await paginate(session, service.attempts_query(webhook), WebhookAttempt.id,
                                       cursor=cursor, limit=limit)
    items = [schemas.AttemptOut(**attempt.model_dump(), event_id=event_id, event_type=event_type)
             for attempt, event_id, event_type in rows]
    return Page(items=items, next_cursor=next_cursor)
