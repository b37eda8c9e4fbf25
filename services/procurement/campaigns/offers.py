"""Sealed offers, negotiation rounds, the panel and the award.

Sealing: an offer's price is visible to its own supplier at once and to the lead only after the
round it belongs to has closed. Nothing else (lists, counts, history, errors) says before then
who offered or at what price.

The award rule: among suppliers that offered on every item and that a majority of the panel
recommends, the one with the lowest total final price (each item's latest price in any round
times its aggregated quantity) wins; a tie goes to the earlier first offer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kernel import history
from kernel.auth import Principal, refuse_auditor_writes
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.ids import new_id, utcnow
from kernel.pagination import Page, paginate
from services.procurement import visibility
from services.procurement.campaigns import schemas
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.access import Access, access
from services.procurement.campaigns.models import COMPLAINT, Campaign, Complaint, Evaluation, Item, Offer, PanelMember
from services.procurement.campaigns.working_days import WorkingCalendar, add_working_days


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
    await campaigns.transition(session, principal, campaign, "submit_offer", record=False, touch=False,
                               where=[Campaign.round_open.is_(True), Campaign.round == round_],
                               refused=Conflict("offers are not being taken now", slug="offers-closed"))
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


async def list_evaluations(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                           cursor: str | None, limit: int) -> Page[schemas.EvaluationOut]:
    seen = await access(session, principal, campaign_id)
    query = sa.select(Evaluation).where(Evaluation.campaign_id == campaign_id, seen.reader.evaluations())
    rows, next_cursor = await paginate(session, query, Evaluation.id, cursor=cursor, limit=limit)
    return Page(items=[schemas.EvaluationOut.model_validate(e) for e in rows], next_cursor=next_cursor)


async def qualifying(session: AsyncSession, campaign_id: uuid.UUID) -> list[uuid.UUID]:
    """Suppliers whose first-round offer priced every item (all prices are within the caps)."""
    items = (await session.execute(sa.select(sa.func.count()).select_from(Item)
                                   .where(Item.campaign_id == campaign_id))).scalar()
    rows = (await session.execute(sa.select(Offer.supplier_org_id).where(Offer.campaign_id == campaign_id,
                                                                         Offer.round == 1)
                                  .group_by(Offer.supplier_org_id).having(sa.func.count() == items))).scalars()
    return list(rows)


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
                                   where=closing["where"], values={**closing["values"], "end_reason": reason})
        await campaigns.release_demands(session, campaign_id, reason)
    elif campaign.status == "tendering":
        await campaigns.transition(session, principal, campaign, "close_offers",
                                   {"round": campaign.round, "qualifying_offers": offers}, **closing,
                                   audience=visibility.BUYERS)
    else:
        await campaigns.transition(session, principal, campaign, "close_round", {"round": campaign.round}, **closing)
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
                               refused=Conflict("a round is open already", slug="round-open"))
    await session.commit()
    return seen


async def set_panel(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                    data: schemas.Panel) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaigns.require_status(seen.campaign, "set_panel")
    members = list(dict.fromkeys(data.member_user_ids))
    if len(members) < 3 or len(members) % 2 == 0:
        raise InvalidInput("a panel has at least 3 members and an odd number of them", slug="invalid-panel")
    evaluated = (await session.execute(sa.select(sa.func.count()).select_from(Evaluation)
                                       .where(Evaluation.campaign_id == campaign_id))).scalar()
    if evaluated:
        raise Conflict("the panel has started evaluating; it can no longer change", slug="panel-evaluating")
    await campaigns.transition(session, principal, seen.campaign, "set_panel", {"members": members},
                               audience=visibility.PANEL_ONLY)
    await session.execute(sa.delete(PanelMember).where(PanelMember.campaign_id == campaign_id))
    session.add_all([PanelMember(campaign_id=campaign_id, user_id=m) for m in members])
    await session.commit()
    return seen


async def evaluate(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                   data: schemas.EvaluationCreate) -> Evaluation:
    seen = await access(session, principal, campaign_id)
    refuse_auditor_writes(principal)
    member = (await session.execute(sa.select(PanelMember).where(
        PanelMember.campaign_id == campaign_id, PanelMember.user_id == principal.subject))).scalar()
    if member is None:
        raise Forbidden("only members of the campaign's panel evaluate", slug="not-a-panel-member")
    campaign = seen.campaign
    between_rounds = Conflict("evaluations happen in negotiation, between rounds", slug="invalid-status",
                              status_now=campaign.status)
    if campaign.status != "negotiation" or campaign.round_open:
        raise between_rounds
    if data.supplier_org_id not in await qualifying(session, campaign_id):
        raise InvalidInput("that supplier has no qualifying offer in this campaign", slug="not-qualifying")
    await campaigns.transition(session, principal, campaign, "evaluate",
                               {"supplier_org_id": str(data.supplier_org_id), "score": data.score,
                                "recommend": data.recommend}, audience=visibility.PANEL_ONLY,
                               where=[Campaign.round_open.is_(False)], refused=between_rounds)
    evaluation = Evaluation(campaign_id=campaign_id, member_user_id=principal.subject, **data.model_dump())
    session.add(evaluation)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("you have evaluated this supplier already", slug="already-evaluated") from exc
    await session.commit()
    return evaluation


async def award(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, data: schemas.Award,
                calendar: WorkingCalendar) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaign = seen.campaign
    after_closed_offers = Conflict("an award follows closed offers", slug="invalid-status",
                                   status_now=campaign.status)
    if campaign.status != "negotiation" or campaign.round_open:
        raise after_closed_offers
    panel = (await session.execute(sa.select(sa.func.count()).select_from(PanelMember)
                                   .where(PanelMember.campaign_id == campaign_id))).scalar()
    if panel < 3:
        raise Conflict("a panel of at least 3 must evaluate before an award", slug="no-panel")
    votes = dict((await session.execute(sa.select(Evaluation.supplier_org_id, sa.func.count()).where(
        Evaluation.campaign_id == campaign_id, Evaluation.recommend.is_(True))
        .group_by(Evaluation.supplier_org_id))).all())
    recommended = [s for s in await qualifying(session, campaign_id) if votes.get(s, 0) * 2 > panel]
    if not recommended:
        raise Conflict("no supplier is recommended by a majority of the panel", slug="no-recommended-supplier")
    items = {item.id: item for item, _ in await campaigns.items_of(session, campaign_id)}
    prices = await final_prices(session, campaign_id, upto_round=campaign.round)
    first = dict((await session.execute(
        sa.select(Offer.supplier_org_id, sa.func.min(Offer.created_at))
        .where(Offer.campaign_id == campaign_id).group_by(Offer.supplier_org_id))).all())

    def total(supplier):
        return sum(prices[supplier][i][0] * (item.locked_quantity or 0) for i, item in items.items())

    winner = min(recommended, key=lambda s: (total(s), first[s]))
    if data.supplier_org_id != winner:
        raise InvalidInput("the award goes to the lowest total final price among the suppliers the panel's "
                           f"majority recommends: supplier {winner}", slug="award-rule", expected=str(winner))
    now = utcnow()
    ends_at = add_working_days(now, campaign.standstill_days, calendar)
    await campaigns.transition(session, principal, campaign, "award",
                               {"supplier_org_id": str(winner), "standstill_ends_at": ends_at.isoformat()},
                               values={"awarded_supplier_org_id": winner, "standstill_ends_at": ends_at},
                               where=[Campaign.round_open.is_(False)], refused=after_closed_offers)
    for item_id, item in items.items():
        item.unified_price_fen = prices[winner][item_id][0]
    if campaign.standstill_days == 0:
        await campaigns.finalize_award(session, campaign, principal, now)
    await session.commit()
    return seen


async def lodge_complaint(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                          data: schemas.Reason) -> Complaint:
    seen = await access(session, principal, campaign_id, lock=True)
    supplier = seen.supplier_org(principal)
    campaigns.require_status(seen.campaign, "lodge_complaint")
    complaint = Complaint(id=new_id(), campaign_id=campaign_id, supplier_org_id=supplier, reason=data.reason,
                          status="open", created_by=history.actor_of(principal))
    await campaigns.transition(session, principal, seen.campaign, "lodge_complaint",
                               {"complaint_id": str(complaint.id)}, audience=visibility.supplier_audience(supplier))
    session.add(complaint)
    await session.flush()
    await session.commit()
    return complaint


async def resolve_complaint(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                            complaint_id: uuid.UUID, data: schemas.ComplaintResolution) -> Complaint:
    """Dismissed: the standstill runs on. Upheld: the award is withdrawn and negotiation resumes."""
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None or complaint.campaign_id != campaign_id:
        raise NotFound(f"no complaint {complaint_id} in this campaign")
    command = "uphold" if data.upheld else "dismiss"
    COMPLAINT.require(command, complaint.status)
    await COMPLAINT.apply(session, command, complaint.id, actor=principal, values={"resolution": data.resolution},
                          data={"complaint_id": str(complaint_id), "resolution": data.resolution},
                          history_type="campaign", history_id=campaign_id,
                          audience=visibility.supplier_audience(complaint.supplier_org_id))
    campaign = seen.campaign
    if data.upheld and campaign.status == "standstill":
        await campaigns.transition(session, principal, campaign, "withdraw_award", {"complaint_id": str(complaint_id)},
                                   values={"awarded_supplier_org_id": None, "standstill_ends_at": None})
        for item in (await session.execute(sa.select(Item).where(Item.campaign_id == campaign_id))).scalars():
            item.unified_price_fen = None
    await session.commit()
    return complaint


async def list_complaints(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                          cursor: str | None, limit: int) -> Page[schemas.ComplaintOut]:
    seen = await access(session, principal, campaign_id)
    query = sa.select(Complaint).where(Complaint.campaign_id == campaign_id, seen.reader.complaints())
    rows, next_cursor = await paginate(session, query, Complaint.id, cursor=cursor, limit=limit)
    return Page(items=[schemas.ComplaintOut.model_validate(c) for c in rows], next_cursor=next_cursor)
