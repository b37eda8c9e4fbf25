"""The award, its standstill, and the agreement it makes when the standstill ends.

The award rule: among suppliers that offered on every item and that a majority of the panel
recommends, the one with the lowest total final price (each item's latest price in any round
times its aggregated quantity) wins; a tie goes to the earlier first offer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.contracts import AgreementItem as AgreementItemPayload
from kernel.errors import Conflict, InvalidInput
from kernel.ids import new_id, utcnow
from kernel.notices import EffectivePolicy
from kernel.transitions import Change, Note
from services.procurement import policy_copy, visibility
from services.procurement.agreements import service as agreements
from services.procurement.agreements.models import Agreement
from services.procurement.campaigns import schemas
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.models import (
    CAMPAIGN,
    Campaign,
    Complaint,
    Evaluation,
    InvitedSupplier,
    Item,
    Offer,
    PanelMember,
)
from services.procurement.campaigns.offers import final_prices, qualifying
from services.procurement.visibility import Access, access
from services.procurement.working_days import WorkingCalendar, add_working_days


def require_negotiation_reason(policy: EffectivePolicy, campaign: Campaign, items: Iterable[Item],
                               reason: str | None) -> None:
    """A campaign whose aggregated demand at the cap reaches the public-tender threshold of its
    fiscal year is one that would be tendered publicly: awarding it by negotiation needs the reason
    (SPEC; the thresholds are the lead org's policy)."""
    at_cap = sum(item.cap_unit_price_fen * (item.locked_quantity or 0) for item in items)
    threshold = policy.thresholds_for(campaign.fiscal_year).public_tender_fen
    if at_cap >= threshold and not reason:
        raise InvalidInput(f"the demand at the cap, {at_cap} fen, reaches the {campaign.fiscal_year} public-tender "
                           f"threshold of {threshold} fen: an award by negotiation needs a negotiation_reason",
                           slug="negotiation-reason-required", demand_at_cap_fen=at_cap,
                           public_tender_threshold_fen=threshold)


async def award(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, data: schemas.Award,
                calendar: WorkingCalendar) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaign = seen.campaign
    after_closed_offers = Conflict("an award follows closed offers", slug="invalid-status",
                                   status_now=campaign.status)
    if campaign.status != "negotiation" or campaign.round_open:
        raise after_closed_offers
    policy = await policy_copy.effective_policy(session, campaign.lead_org_path)
    items = {item.id: item for item, _ in await campaigns.items_of(session, campaign_id)}
    require_negotiation_reason(policy, campaign, items.values(), data.negotiation_reason)
    panel = (await session.execute(sa.select(sa.func.count()).select_from(PanelMember)
                                   .where(PanelMember.campaign_id == campaign_id))).scalar()
    if panel < policy.panel_min_members:
        raise Conflict(f"a panel of at least {policy.panel_min_members} must evaluate before an award",
                       slug="no-panel")
    # Only the current panel's recommendations count: a member's seat is what gives its vote weight.
    votes = dict((await session.execute(sa.select(Evaluation.supplier_org_id, sa.func.count()).where(
        Evaluation.campaign_id == campaign_id, Evaluation.recommend.is_(True),
        sa.exists().where(PanelMember.campaign_id == campaign_id, PanelMember.user_id == Evaluation.member_user_id))
        .group_by(Evaluation.supplier_org_id))).all())
    recommended = [s for s in await qualifying(session, campaign_id) if votes.get(s, 0) * 2 > panel]
    if not recommended:
        raise Conflict("no supplier is recommended by a majority of the panel", slug="no-recommended-supplier")
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
    # The winner is every reader's after the award.
    await CAMPAIGN.apply(session, "award", campaign.id,
                         Note(principal, {"supplier_org_id": str(winner), "standstill_ends_at": ends_at.isoformat(),
                                          "negotiation_reason": data.negotiation_reason},
                              audience=visibility.EVERY_READER),
                         Change({"awarded_supplier_org_id": winner, "standstill_ends_at": ends_at,
                                 "negotiation_reason": data.negotiation_reason},
                                where=[Campaign.round_open.is_(False)], refused=after_closed_offers))
    for item_id, item in items.items():
        item.unified_price_fen = prices[winner][item_id][0]
    if campaign.standstill_days == 0:
        await finalize_award(session, campaign, principal, now)
    await session.commit()
    return seen


async def finalize_award(session: AsyncSession, campaign: Campaign, actor: Principal | str,
                         now: datetime | None = None) -> Agreement:
    """Ends the standstill: the campaign is awarded and its agreement made (and announced)."""
    now = now or utcnow()
    items = await campaigns.items_of(session, campaign.id)
    supplier = (await session.execute(sa.select(InvitedSupplier).where(
        InvitedSupplier.campaign_id == campaign.id,
        InvitedSupplier.supplier_org_id == campaign.awarded_supplier_org_id))).scalar_one()
    agreement_id = new_id()
    # A complaint lodged meanwhile holds the standstill open.
    await CAMPAIGN.apply(session, "finalize_award", campaign.id,
                         Note(actor, {"agreement_id": str(agreement_id)}, audience=visibility.AGREEMENT),
                         Change({"awarded_at": now},
                                where=[~sa.exists().where(Complaint.campaign_id == Campaign.id,
                                                          Complaint.status == "open")]))
    agreement = await agreements.create_from_award(
        session, actor, agreement_id=agreement_id, campaign_id=campaign.id, lead_org_id=campaign.lead_org_id,
        lead_org_path=campaign.lead_org_path, supplier_org_id=supplier.supplier_org_id,
        supplier_org_path=supplier.org_path, valid_from=now, months=campaign.agreement_months,
        items=[AgreementItemPayload(item_id=item.id, product_id=item.product_id, unit_price_fen=item.unified_price_fen,
                                    cap_unit_price_fen=item.cap_unit_price_fen) for item, _ in items])
    return agreement


async def finalize_due(db, now: datetime | None = None) -> int:
    """Awards every campaign whose standstill has ended with no complaint open."""
    now = now or utcnow()
    async with db.session() as session:
        due = (await session.execute(sa.select(Campaign.id).where(
            Campaign.status == "standstill", Campaign.standstill_ends_at <= now,
            ~sa.exists().where(Complaint.campaign_id == Campaign.id, Complaint.status == "open")))).scalars().all()
        await session.rollback()
    done = 0
    for campaign_id in due:
        async with db.session() as session:
            campaign = (await session.execute(sa.select(Campaign).where(
                Campaign.id == campaign_id, Campaign.status == "standstill").with_for_update())).scalar_one_or_none()
            if campaign is not None:
                await finalize_award(session, campaign, "system", now)
                await session.commit()
                done += 1
    return done
