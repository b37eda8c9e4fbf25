"""The evaluation panel and its members' evaluations of the qualifying suppliers."""

from __future__ import annotations

import uuid
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.errors import Conflict, Forbidden, InvalidInput
from kernel.notices import EffectivePolicy
from kernel.pagination import Page, paginate
from kernel.transitions import Change, Note
from services.procurement import policy_copy, visibility
from services.procurement.campaigns import schemas
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.models import CAMPAIGN, Campaign, Evaluation, PanelMember
from services.procurement.campaigns.offers import qualifying
from services.procurement.visibility import Access, access


def require_composition(policy: EffectivePolicy, members: list[str], representatives: list[str]) -> None:
    """财政部令第74号 as the lead org's policy states it: at least `panel_min_members` members, an odd
    number of them, and the buyer's representatives (members themselves) at most
    `panel_max_buyer_share` of the panel, the experts the rest."""
    odd = policy.panel_odd_members
    if len(members) < policy.panel_min_members or (odd and len(members) % 2 == 0):
        raise InvalidInput(f"a panel has at least {policy.panel_min_members} members"
                           + (" and an odd number of them" if odd else ""), slug="invalid-panel",
                           min_members=policy.panel_min_members, odd=odd)
    outside = [r for r in representatives if r not in members]
    if outside:
        raise InvalidInput("the buyer's representatives sit on the panel as members; "
                           f"not members: {', '.join(outside)}",
                           slug="representative-not-a-member")
    share = policy.panel_max_buyer_share
    if Fraction(len(representatives), len(members)) > share:
        raise InvalidInput(f"{len(representatives)} of {len(members)} members represent the buyer; at most {share} "
                           f"of a panel may (the experts at least the rest)", slug="too-many-buyer-representatives",
                           max_buyer_share=str(share))


async def set_panel(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                    data: schemas.Panel) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    campaigns.require_status(seen.campaign, "set_panel")
    members = list(dict.fromkeys(data.member_user_ids))
    representatives = list(dict.fromkeys(data.buyer_representative_user_ids))
    require_composition(await policy_copy.effective_policy(session, seen.campaign.lead_org_path), members,
                        representatives)
    evaluated = (await session.execute(sa.select(sa.func.count()).select_from(Evaluation)
                                       .where(Evaluation.campaign_id == campaign_id))).scalar()
    if evaluated:
        raise Conflict("the panel has started evaluating; it can no longer change", slug="panel-evaluating")
    await CAMPAIGN.apply(session, "set_panel", seen.campaign.id,
                         Note(principal, {"members": members, "buyer_representatives": representatives},
                              audience=visibility.PANEL_ONLY))
    await session.execute(sa.delete(PanelMember).where(PanelMember.campaign_id == campaign_id))
    session.add_all([PanelMember(campaign_id=campaign_id, user_id=m, buyer_representative=m in representatives)
                     for m in members])
    await session.commit()
    return seen


async def evaluate(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                   data: schemas.EvaluationCreate) -> Evaluation:
    principal.refuse_auditor()
    seen = await access(session, principal, campaign_id)
    if not seen.panel:
        raise Forbidden("only members of the campaign's panel evaluate", slug="not-a-panel-member")
    # Membership counts as it is under the campaign's lock, which set_panel holds while it replaces
    # the panel: read before it, a member removed meanwhile would have its score counted. Removed
    # between the two reads, the member lost a race with the panel's change: 409, not 403.
    seen = await access(session, principal, campaign_id, lock=True)
    if not seen.panel:
        raise Conflict("the panel changed meanwhile and you are no longer on it", slug="panel-changed")
    campaign = seen.campaign
    between_rounds = Conflict("evaluations happen in negotiation, between rounds", slug="invalid-status",
                              status_now=campaign.status)
    if campaign.status != "negotiation" or campaign.round_open:
        raise between_rounds
    if data.supplier_org_id not in await qualifying(session, campaign_id):
        raise InvalidInput("that supplier has no qualifying offer in this campaign", slug="not-qualifying")
    await CAMPAIGN.apply(session, "evaluate", campaign.id,
                         Note(principal, {"supplier_org_id": str(data.supplier_org_id), "score": data.score,
                                          "recommend": data.recommend}, audience=visibility.PANEL_ONLY),
                         Change(where=[Campaign.round_open.is_(False)], refused=between_rounds))
    evaluation = Evaluation(campaign_id=campaign_id, member_user_id=principal.subject, **data.model_dump())
    session.add(evaluation)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("you have evaluated this supplier already", slug="already-evaluated") from exc
    await session.commit()
    return evaluation


async def list_evaluations(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                           cursor: str | None, limit: int) -> Page[schemas.EvaluationOut]:
    seen = await access(session, principal, campaign_id)
    query = sa.select(Evaluation).where(Evaluation.campaign_id == campaign_id, seen.reader.evaluations())
    rows, next_cursor = await paginate(session, query, Evaluation.id, cursor=cursor, limit=limit)
    return Page(items=[schemas.EvaluationOut.model_validate(e) for e in rows], next_cursor=next_cursor)
