"""What the licenses service does with other services' events."""

from __future__ import annotations

import functools
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.consumers import Subscription
from kernel.contracts import OrderDelivered
from kernel.events import Event
from kernel.history import event_actor
from kernel.orgs import OrgDirectory, OrgRef
from services.licenses import policy_copy
from services.licenses.pools.service import NewEntitlement, add_entitlements
from services.licenses.users.directory import UserDirectory


async def on_orders_delivered(session: AsyncSession, events: list[Event], *, orgs: OrgDirectory) -> None:
    """Delivered call-off orders become entitlements (once per order, however often one arrives);
    a batch of them raises each pool's total once."""
    known: dict[uuid.UUID, OrgRef] = {}
    items = []
    for event in events:
        data = event.payload(OrderDelivered)
        if data.org_id not in known:
            # The same directory requests use: an org whose own event has not arrived (this service
            # was down when it was created, say) is asked of the gateway instead of parking the delivery.
            org = await orgs.get(session, data.org_id)
            if org is None:
                raise LookupError(f"org {data.org_id} is known neither here nor to the gateway")
            known[data.org_id] = org
        items.append(NewEntitlement(
            known[data.org_id], event_actor(event), product_id=data.product_id, product_name=data.product_name,
            vendor=data.vendor, category=data.category, metric=data.metric, quantity=data.quantity,
            valid_from=data.valid_from, valid_to=data.valid_to, source="order", reference=str(data.order_id),
            cause=event))
    await add_entitlements(session, items)


async def on_order_delivered(session: AsyncSession, event: Event, *, orgs: OrgDirectory) -> None:
    """One delivered order (a retry, a replay, a batch that failed and is applied one by one)."""
    await on_orders_delivered(session, [event], orgs=orgs)


def subscriptions(orgs: OrgDirectory, users: UserDirectory) -> list[Subscription]:
    return [
        Subscription("procurement.order.delivered", functools.partial(on_order_delivered, orgs=orgs),
                     handle_batch=functools.partial(on_orders_delivered, orgs=orgs)),
        Subscription("identity.user.created", users.on_user_created),
        # The service's refusals of disabled users (kernel/disabled_users.py) hear this subject too.
        Subscription("identity.user.changed", users.on_user_changed, name="known-users-identity-user-changed"),
        policy_copy.COPIES.subscription(),
    ]
