"""Offer rounds: closing the first (too few qualifying offers make the campaign unsuccessful) and
opening negotiation rounds in which prices may only stay or fall."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.errors import Conflict
from kernel.transitions import Change, Note
from services.procurement import visibility
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.models import CAMPAIGN, Campaign
from services.procurement.campaigns.offers import qualifying, round_is_open
from services.procurement.demands import service as demands
from services.procurement.visibility import Access, access


async def close_offers(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaign = seen.campaign
    if not round_is_open(campaign):
        raise Conflict("no offer round is open", slug="invalid-status", status_now=campaign.status)
    offers = len(await qualifying(session, campaign_id))
    # The round closes only if it is still the one read: a second close finds it closed.
    still_open = [Campaign.round_open.is_(True), Campaign.round == campaign.round]
    if campaign.status == "tendering" and offers < campaign.min_offers:
        reason = f"{offers} qualifying offers, fewer than the {campaign.min_offers} required"
        await CAMPAIGN.apply(session, "declare_unsuccessful", campaign.id,
                             Note(principal, {"reason": reason}, audience=visibility.EVERY_READER),
                             Change({"round_open": False, "end_reason": reason}, where=still_open))
        await demands.release_demands(session, campaign_id, reason)
    elif campaign.status == "tendering":
        await CAMPAIGN.apply(session, "close_offers", campaign.id,
                             Note(principal, {"round": campaign.round, "qualifying_offers": offers},
                                  audience=visibility.BUYERS),
                             Change({"round_open": False}, where=still_open))
    else:
        await CAMPAIGN.apply(session, "close_round", campaign.id,
                             Note(principal, {"round": campaign.round}, audience=visibility.EVERY_READER),
                             Change({"round_open": False}, where=still_open))
    await session.commit()
    return seen


async def open_round(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaigns.require_status(seen.campaign, "open_round")
    if seen.campaign.round_open:
        raise Conflict("a round is open already", slug="round-open")
    next_round = seen.campaign.round + 1
    await CAMPAIGN.apply(session, "open_round", seen.campaign.id,
                         Note(principal, {"round": next_round}, audience=visibility.EVERY_READER),
                         Change({"round": next_round, "round_open": True},
                                where=[Campaign.round_open.is_(False), Campaign.round == next_round - 1],
                                refused=Conflict("a round is open already", slug="round-open")))
    await session.commit()
    return seen
