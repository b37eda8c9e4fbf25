"""What the licenses service does with other services' events."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.consumers import Subscription
from kernel.contracts import OrderDelivered
from kernel.events import Event
from kernel.orgs import OrgRef
from kernel.schema import orgs
from services.licenses.pools.service import add_entitlement


async def on_order_delivered(session: AsyncSession, event: Event) -> None:
    """A delivered call-off order becomes an entitlement (once per order, however often it arrives)."""
    data = event.payload(OrderDelivered)
    row = (await session.execute(sa.select(orgs).where(orgs.c.id == data.org_id))).first()
    if row is None:
        # The org's own event has not arrived yet; failing makes the broker deliver this again later.
        raise LookupError(f"org {data.org_id} is not known here yet")
    org = OrgRef(row.id, row.parent_id, row.name, row.kind, row.path)
    await add_entitlement(
        session, org, actor=f"event:{event.id}", product_id=data.product_id, product_name=data.product_name,
        vendor=data.vendor, category=data.category, metric=data.metric, quantity=data.quantity,
        valid_from=data.valid_from, valid_to=data.valid_to, source="order", reference=str(data.order_id))


SUBSCRIPTIONS = [Subscription("procurement.order.delivered", on_order_delivered)]
