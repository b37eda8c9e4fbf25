"""Demands given back: a campaign that ends, or an agreement that ends, releases what they hold."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.contracts import DemandReleased
from kernel.events import new_event
from kernel.outbox import add_events
from services.procurement.demands.models import DEMAND, Demand

SOURCE = "zhengban/procurement"


async def release_demands(session: AsyncSession, campaign_id: uuid.UUID, reason: str) -> int:
    """Gives back every pre-encumbrance the campaign's demands hold: one compare-and-set over the
    demands still live, so a budget answer racing it either landed first (and is released) or finds
    the demand released (and changes nothing)."""
    released = await DEMAND.apply_all(session, "release", [Demand.campaign_id == campaign_id],
                                      returning=(Demand.org_id, Demand.budget_line_id))
    await add_events(session, [new_event("procurement.demand.released", DemandReleased(
        demand_id=demand_id, campaign_id=campaign_id, org_id=org_id, budget_line_id=line_id, reason=reason),
        source=SOURCE, about=demand_id) for demand_id, org_id, line_id in released])
    return len(released)
