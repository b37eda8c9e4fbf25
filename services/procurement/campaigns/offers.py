"""Sealed offers: what a supplier sends in each round, and who may see it when.

Sealing: an offer's price is visible to its own supplier at once and to the lead only after the
round it belongs to has closed. Nothing else (lists, counts, history, errors) says before then
who offered or at what price.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kernel import history
from kernel.auth import Principal
from kernel.errors import Conflict, InvalidInput
from kernel.ids import new_id, utcnow
from kernel.pagination import Page, paginate
from kernel.transitions import Change
from services.procurement.campaigns import schemas
from services.procurement.campaigns.models import CAMPAIGN, Campaign, Item, Offer
from services.procurement.visibility import access


def round_is_open(campaign: Campaign) -> bool:
    return campaign.status in ("tendering", "negotiation") and campaign.round_open


async def final_prices(session: AsyncSession, campaign_id: uuid.UUID, *, upto_round: int
                       ) -> dict[uuid.UUID, dict[uuid.UUID, tuple[int, int]]]:
    """supplier → item → (latest price, its round), counting rounds up to `upto_round`."""
    rows = (await session.execute(sa.select(Offer.supplier_org_id, Offer.item_id, Offer.unit_price_fen, Offer.round)
                                  .where(Offer.campaign_id == campaign_id, Offer.round <= upto_round)
                                  .order_by(Offer.round))).all()
    prices: dict[uuid.UUID, dict[uuid.UUID, tuple[int, int]]] = defaultdict(dict)
    for supplier, item, price, round_ in rows:
        prices[supplier][item] = (price, round_)
    return prices


async def qualifying(session: AsyncSession, campaign_id: uuid.UUID) -> list[uuid.UUID]:
    """Suppliers whose first-round offer priced every item (all prices are within the caps)."""
    items = (await session.execute(sa.select(sa.func.count()).select_from(Item)
                                   .where(Item.campaign_id == campaign_id))).scalar()
    rows = (await session.execute(sa.select(Offer.supplier_org_id).where(Offer.campaign_id == campaign_id,
                                                                         Offer.round == 1)
                                  .group_by(Offer.supplier_org_id).having(sa.func.count() == items))).scalars()
    return list(rows)


async def submit_offer(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                       data: schemas.OfferCreate) -> schemas.OfferOut:
    seen = await access(session, principal, campaign_id, lock=True)
    supplier = seen.supplier_org(principal)
    campaign = seen.campaign
    if not round_is_open(campaign):
        raise Conflict("offers are not being taken now", slug="offers-closed")
    round_ = campaign.round
    caps = dict((await session.execute(sa.select(Item.id, Item.cap_unit_price_fen)
                                       .where(Item.campaign_id == campaign_id))).all())
    unknown = [str(i.item_id) for i in data.items if i.item_id not in caps]
    if unknown:
        raise InvalidInput(f"not items of this campaign: {', '.join(unknown)}", slug="unknown-item")
    for offered in data.items:
        if offered.unit_price_fen > caps[offered.item_id]:
            raise InvalidInput(f"the price for item {offered.item_id} is above its cap of "
                               f"{caps[offered.item_id]} fen", slug="price-above-cap")
    if campaign.round == 1 and {i.item_id for i in data.items} != set(caps):
        raise InvalidInput("the first offer prices every item of the campaign", slug="items-incomplete")
    if campaign.round > 1:
        # Negotiation only goes down: each price at most this supplier's own previous one.
        previous = (await final_prices(session, campaign_id, upto_round=campaign.round - 1)).get(supplier, {})
        if not previous:
            raise Conflict("only suppliers with a first-round offer negotiate", slug="no-earlier-offer")
        for offered in data.items:
            before = previous.get(offered.item_id)
            if before and offered.unit_price_fen > before[0]:
                raise InvalidInput(f"the price for item {offered.item_id} may stay at or go below your previous "
                                   f"{before[0]} fen, not rise", slug="price-raised")
    # The offer belongs to this round only while it is open: the compare-and-set holds the campaign
    # row, so a close-offers either waits for it or has closed the round (and this answers 409).
    await CAMPAIGN.apply(session, "submit_offer", campaign.id, None,
                         Change(where=[Campaign.round_open.is_(True), Campaign.round == round_],
                                refused=Conflict("offers are not being taken now", slug="offers-closed"), touch=False))
    # A supplier may send its offer for the open round again; the latest one counts.
    await session.execute(sa.delete(Offer).where(Offer.campaign_id == campaign_id, Offer.supplier_org_id == supplier,
                                                 Offer.round == campaign.round))
    now, actor = utcnow(), history.actor_of(principal)
    rows = [Offer(id=new_id(), campaign_id=campaign_id, supplier_org_id=supplier, round=campaign.round,
                  item_id=i.item_id, unit_price_fen=i.unit_price_fen, created_by=actor, created_at=now, updated_at=now)
            for i in data.items]
    session.add_all(rows)
    await session.commit()
    return schemas.OfferOut(id=min(r.id for r in rows), campaign_id=campaign_id, supplier_org_id=supplier,
                            round=campaign.round, items=data.items, created_at=now, updated_at=now)


async def list_offers(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *, cursor: str | None,
                      limit: int) -> Page[schemas.OfferOut]:
    """One page of the offers the reader may see; an offer is one supplier's prices in one round, and
    its id the first of their rows (so offers page in the order they were sent)."""
    seen = await access(session, principal, campaign_id)
    earlier = aliased(Offer)
    firsts = sa.select(Offer).where(
        Offer.campaign_id == campaign_id, seen.reader.offers(),
        ~sa.exists().where(earlier.campaign_id == Offer.campaign_id, earlier.round == Offer.round,
                           earlier.supplier_org_id == Offer.supplier_org_id, earlier.id < Offer.id))
    groups, next_cursor = await paginate(session, firsts, Offer.id, cursor=cursor, limit=limit)
    prices: dict[tuple, list[schemas.OfferItem]] = defaultdict(list)
    if groups:
        rows = (await session.execute(
            sa.select(Offer.supplier_org_id, Offer.round, Offer.item_id, Offer.unit_price_fen)
            .join(Item, Item.id == Offer.item_id)
            .where(Offer.campaign_id == campaign_id,
                   sa.tuple_(Offer.supplier_org_id, Offer.round).in_([(g.supplier_org_id, g.round) for g in groups]))
            .order_by(Item.position))).all()
        for supplier, round_, item_id, price in rows:
            prices[(supplier, round_)].append(schemas.OfferItem(item_id=item_id, unit_price_fen=price))
    # The rows of one offer are written together: the first one's times are the offer's.
    return Page(items=[schemas.OfferOut(id=g.id, campaign_id=campaign_id, supplier_org_id=g.supplier_org_id,
                                        round=g.round, items=prices[(g.supplier_org_id, g.round)],
                                        created_at=g.created_at, updated_at=g.updated_at) for g in groups],
                next_cursor=next_cursor)
