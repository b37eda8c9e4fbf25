"""Offer rounds: closing the first (too few qualifying offers make the campaign unsuccessful) and
opening negotiation rounds in which prices may only stay or fall."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.errors import Conflict
from services.procurement import visibility
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.models import Campaign
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
    closing = {"where": [Campaign.round_open.is_(True), Campaign.round == campaign.round],
               "values": {"round_open": False}}
    if campaign.status == "tendering" and offers < campaign.min_offers:
        reason = f"{offers} qualifying offers, fewer than the {campaign.min_offers} required"
        await campaigns.transition(session, principal, campaign, "declare_unsuccessful", {"reason": reason},
                                   where=closing["where"], values={**closing["values"], "end_reason": reason},
                                   audience=visibility.EVERY_READER)
        await demands.release_demands(session, campaign_id, reason)
    elif campaign.status == "tendering":
        await campaigns.transition(session, principal, campaign, "close_offers",
                                   {"round": campaign.round, "qualifying_offers": offers}, **closing,
                                   audience=visibility.BUYERS)
    else:
        await campaigns.transition(session, principal, campaign, "close_round", {"round": campaign.round}, **closing,
                                   audience=visibility.EVERY_READER)
    await session.commit()
    return seen


async def open_round(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaigns.require_status(seen.campaign, "open_round")
    if seen.campaign.round_open:
        raise Conflict("a round is open already", slug="round-open")
    next_round = seen.campaign.round + 1
    await campaigns.transition(session, principal, seen.campaign, "open_round", {"round": next_round},
                               values={"round": next_round, "round_open": True},
                               where=[Campaign.round_open.is_(False), Campaign.round == next_round - 1],
                               refused=Conflict("a round is open already", slug="round-open"),
                               audience=visibility.EVERY_READER)
    await session.commit()
    return seen
