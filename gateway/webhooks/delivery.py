"""Delivering events to webhooks: the fan-out of each event into the deliveries it is owed, and
the sender that POSTs them, signed as Standard Webhooks, retrying with backoff for 24 hours.

The fan-out is an idempotent consumer of every stream (its inbox row and the deliveries commit
together; the (webhook, event) key makes a repeat a no-op). The sender claims due deliveries
with a compare-and-set on `next_attempt_at` (a lease), so several gateways send each attempt
once, and POSTs outside any transaction: a gateway that dies mid-attempt leaves the lease to run
out, and the delivery is sent again — at least once, as Standard Webhooks expects; receivers
drop repeats by `webhook-id`, the event's id."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook as Signer

from gateway.models import Org
from gateway.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from kernel.consumers import Subscription
from kernel.contracts import STREAMS
from kernel.db import Database, insert_rows
from kernel.events import Event
from kernel.ids import new_id, utcnow

log = logging.getLogger("zhengban.webhooks")
LEASE = timedelta(minutes=2)  # longer than one POST may take (timeout) plus writing its outcome
BATCH = 50


def concerned_org_ids(event: Event) -> set[uuid.UUID]:
    """The orgs whose subtree's subscribers may read the event: the org it belongs to (`org_id`,
    the lead org of an award) and, for an award, the winning supplier, which reads its agreement.
    An event naming no org reaches nobody (fail closed)."""
    data = event.data
    keys = ["org_id", "lead_org_id"]
    if event.nats_subject == "procurement.agreement.awarded":
        keys.append("supplier_org_id")
    ids = set()
    for key in keys:
        try:
            ids.add(uuid.UUID(str(data[key])))
        except (KeyError, ValueError):
            continue
    return ids


async def fan_out(session: AsyncSession, events: list[Event]) -> None:
    """Adds a pending delivery for each webhook that subscribed to the event's subject and whose
    org's subtree holds an org the event concerns. A webhook gets the events that happened after it
    was made: the consumer may meet an older one late (after NATS was away, say)."""
    concerned = {event.id: concerned_org_ids(event) for event in events}
    org_ids = set().union(*concerned.values())
    if not org_ids:
        return
    paths = dict((await session.execute(sa.select(Org.id, Org.path).where(Org.id.in_(org_ids)))).all())
    hooks = (await session.execute(sa.select(Webhook).where(Webhook.deleted_at.is_(None)))).scalars().all()
    now, rows = utcnow(), []
    for event in events:
        event_paths = [paths[org_id] for org_id in concerned[event.id] if org_id in paths]
        for hook in hooks:
            if (event.nats_subject in hook.events and event.time >= hook.created_at
                    and any(p.startswith(hook.org_path) for p in event_paths)):
                rows.append({"id": new_id(), "webhook_id": hook.id, "event_id": event.id, "event_type": event.type,
                             "payload": event.model_dump_json(), "status": "pending", "attempts": 0,
                             "next_attempt_at": now, "created_at": now})
    if rows:
        await insert_rows(session, WebhookDelivery.__table__, rows, skip_conflicts=True)


async def _fan_out_one(session: AsyncSession, event: Event) -> None:
    await fan_out(session, [event])


# One durable consumer per stream, every subject of it ("budget.>").
SUBSCRIPTIONS = [Subscription(f"{prefix}.>", _fan_out_one, handle_batch=fan_out) for prefix in STREAMS]


class Sender:
    """POSTs due deliveries; `schedule` is the wait before each retry (the last one repeats)
    until `retry_for` has passed since the event was owed, then the delivery has `failed`."""

    def __init__(self, db: Database, *, schedule: list[float], retry_for: float, timeout: float):
        self.db = db
        self.schedule = schedule
        self.retry_for = timedelta(seconds=retry_for)
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def send_due(self) -> int:
        """Sends what is due now; returns how many attempts were made."""
        claimed = await self._claim()
        await asyncio.gather(*(self._attempt(*item) for item in claimed))
        return len(claimed)

    async def _claim(self) -> list[tuple[WebhookDelivery, int, str, str]]:
        now = utcnow()
        async with self.db.session() as session, session.begin():
            due = (await session.execute(
                sa.select(WebhookDelivery, WebhookDelivery.attempts, Webhook.url, Webhook.secret)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at).limit(BATCH))).all()
            claimed = []
            for delivery, attempts, url, secret in due:
                # Compare-and-set on the time it was due: another gateway that claimed it first
                # moved it, and this one skips it.
                moved = await session.execute(
                    sa.update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery.id,
                           WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
                    .values(next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1))
                if moved.rowcount == 1:
                    claimed.append((delivery, attempts + 1, url, secret))
        return claimed

    async def _attempt(self, delivery: WebhookDelivery, attempt: int, url: str, secret: str) -> None:
        now = utcnow()
        headers = {"webhook-id": str(delivery.event_id), "webhook-timestamp": str(int(now.timestamp())),
                   "content-type": "application/json", "user-agent": "Zhengban-Webhooks/1"}
        headers["webhook-signature"] = Signer(secret).sign(str(delivery.event_id), now, delivery.payload)
        status_code = error = None
        try:
            answer = await self.client.post(url, content=delivery.payload.encode(), headers=headers)
            status_code = answer.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        delivered = status_code is not None and 200 <= status_code < 300
        wait = self.schedule[min(attempt - 1, len(self.schedule) - 1)]
        next_at = utcnow() + timedelta(seconds=wait)
        gave_up = not delivered and next_at > delivery.created_at + self.retry_for
        outcome = "delivered" if delivered else "failed" if gave_up else "retrying"
        async with self.db.session() as session, session.begin():
            session.add(WebhookAttempt(id=new_id(), delivery_id=delivery.id, webhook_id=delivery.webhook_id,
                                       attempt=attempt, at=now, status_code=status_code, error=error, outcome=outcome))
            await session.execute(
                sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery.id, WebhookDelivery.status == "pending")
                .values(status="pending" if outcome == "retrying" else outcome, next_attempt_at=next_at,
                        delivered_at=utcnow() if delivered else None))
        if not delivered:
            log.info("webhook delivery %s to %s: attempt %d %s (%s)", delivery.id, url, attempt, outcome,
                     status_code or error)
