"""Webhook subscriptions: made, listed and removed by an admin over the org."""

from __future__ import annotations

import base64
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.service import visible_org
from gateway.webhooks import schemas
from gateway.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from kernel import history
from kernel.auth import ADMINS, Principal
from kernel.errors import Forbidden, NotFound
from kernel.ids import utcnow


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def require_admin(principal: Principal) -> None:
    """Webhooks carry the events of a whole subtree: only its admin subscribes."""
    if not ADMINS.held_by(principal):
        raise Forbidden("only admin manages webhooks")


async def create_webhook(session: AsyncSession, principal: Principal, data: schemas.WebhookCreate) -> Webhook:
    org = await visible_org(session, principal, data.org_id)
    require_admin(principal)
    webhook = Webhook(org_id=org.id, org_path=org.path, url=data.url, events=data.events, secret=new_secret(),
                      created_by=history.actor_of(principal))
    session.add(webhook)
    await session.flush()
    await history.record(session, "webhook", webhook.id, "created", principal, {"url": data.url, "events": data.events})
    await session.commit()
    return webhook


async def visible_webhook(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or webhook.deleted_at is not None or not principal.covers(webhook.org_path):
        raise NotFound(f"no webhook {webhook_id} in your subtree")
    require_admin(principal)
    return webhook


def webhooks_query(principal: Principal, org_id: uuid.UUID | None) -> sa.Select:
    require_admin(principal)
    query = sa.select(Webhook).where(Webhook.org_path.startswith(principal.org_path, autoescape=True),
                                     Webhook.deleted_at.is_(None))
    return query.where(Webhook.org_id == org_id) if org_id else query


async def delete_webhook(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> None:
    webhook = await visible_webhook(session, principal, webhook_id)
    webhook.deleted_at = utcnow()
    # What was still owed is not sent to a receiver its admin removed.
    await session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id,
                                                           WebhookDelivery.status == "pending")
                          .values(status="failed"))
    await history.record(session, "webhook", webhook.id, "deleted", principal)
    await session.commit()


def attempts_query(webhook: Webhook) -> sa.Select:
    """Every attempt at delivering to `webhook`, each with the event it carried."""
    return (sa.select(WebhookAttempt, WebhookDelivery.event_id, WebhookDelivery.event_type)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookAttempt.webhook_id == webhook.id))
