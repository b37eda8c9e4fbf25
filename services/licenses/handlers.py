"""What the licenses service does with other services' events."""

from __future__ import annotations

import functools

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.consumers import Subscription
from kernel.contracts import OrderDelivered
from kernel.events import Event
from kernel.history import event_actor
from kernel.orgs import OrgDirectory
from services.licenses import policies
from services.licenses.pools.service import add_entitlement
from services.licenses.users.directory import UserDirectory


async def on_order_delivered(session: AsyncSession, event: Event, *, orgs: OrgDirectory) -> None:
    """A delivered call-off order becomes an entitlement (once per order, however often it arrives)."""
    data = event.payload(OrderDelivered)
    # The same directory requests use: an org whose own event has not arrived (this service was
    # down when it was created, say) is asked of the gateway instead of parking the delivery.
    org = await orgs.get(session, data.org_id)
    if org is None:
        raise LookupError(f"org {data.org_id} is known neither here nor to the gateway")
    await add_entitlement(
        session, org, actor=event_actor(event), product_id=data.product_id, product_name=data.product_name,
        vendor=data.vendor, category=data.category, metric=data.metric, quantity=data.quantity,
        valid_from=data.valid_from, valid_to=data.valid_to, source="order", reference=str(data.order_id))


def subscriptions(orgs: OrgDirectory, users: UserDirectory) -> list[Subscription]:
    return [
        Subscription("procurement.order.delivered", functools.partial(on_order_delivered, orgs=orgs)),
        Subscription("identity.user.created", users.on_user_created),
        policies.COPIES.subscription(),
    ]
