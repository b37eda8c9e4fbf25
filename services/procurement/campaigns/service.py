"""A campaign's lifecycle up to the offers, its demand, and its end (cancelled or unsuccessful); the
offers, rounds, panel, award and complaints are their own modules beside this one."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import DemandSubmittedV2
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import new_id
from kernel.notices import EffectivePolicy
from kernel.orgs import OrgDirectory
from kernel.pagination import Page, paginate
from kernel.transitions import Change, Note
from services.procurement import policy_copy, visibility
from services.procurement.agreements.models import Agreement
from services.procurement.campaigns import schemas
from services.procurement.campaigns.models import CAMPAIGN, Campaign, InvitedSupplier, Item, PanelMember, Participant
from services.procurement.demands import service as demands
from services.procurement.demands.models import Demand
from services.procurement.products.models import Product
from services.procurement.visibility import Access, access, accesses, visible_campaigns
from services.procurement.working_days import end_of_last_day

SOURCE = "zhengban/procurement"


def require_status(campaign: Campaign, command: str) -> None:
    """Refuses early what the campaign's status (as read) does not allow; `transition` is what
    holds under races."""
    CAMPAIGN.require(command, campaign.status)


def policy_cap(policy: EffectivePolicy, product: Product) -> int | None:
    """The highest unit price the lead org's policy lets a campaign cap the product at (None: no
    cap). 98号 binds the purchase, not only the budget line: a campaign buys for every unit's lines,
    a special-need one included, so its bound is the special-need cap where the policy has one above
    the cap — exactly the highest price budget's line check lets through (lines/service.py)."""
    cap = policy.cap_for(product.category, product.edition)
    if cap is None:
        return None
    special = policy.cap_for(product.category, product.edition, special=True)
    if special is None:  # a special need with no cap of its own
        return None
    return max(cap, special)


def require_cap_within_policy(policy: EffectivePolicy, product: Product, cap_unit_price_fen: int) -> None:
    limit = policy_cap(policy, product)
    if limit is not None and cap_unit_price_fen > limit:
        raise InvalidInput(f"the cap of {cap_unit_price_fen} fen for {product.vendor} {product.name} is above the "
                           f"lead org's {product.category} cap of {limit} fen (财行〔2013〕98号)",
                           slug="cap-above-policy", product_id=str(product.id), policy_cap_fen=limit)


async def create_campaign(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                          data: schemas.CampaignCreate) -> Campaign:
    lead = await orgs.visible(session, principal, data.lead_org_id)
    visibility.PROCUREMENT.require(principal, lead.path)
    participants = []
    for org_id in dict.fromkeys(data.participant_org_ids):
        # Participants may sit anywhere: a procurement centre buys for units of other trees.
        participants.append(await orgs.existing(session, org_id))
    products = {p.id: p for p in (await session.execute(
        sa.select(Product).where(Product.id.in_([i.product_id for i in data.items])))).scalars()}
    missing = [str(i.product_id) for i in data.items if i.product_id not in products]
    if missing:
        raise InvalidInput(f"no such products: {', '.join(missing)}", slug="unknown-product")
    if len({i.product_id for i in data.items}) != len(data.items):
        raise InvalidInput("each product may appear once", slug="duplicate-item")
    policy = await policy_copy.effective_policy(session, lead.path)
    for item in data.items:
        require_cap_within_policy(policy, products[item.product_id], item.cap_unit_price_fen)
    standstill_days = data.standstill_days
    if standstill_days is None:  # the lead org's policy says how long suppliers have to challenge
        standstill_days = policy.standstill_days
    campaign = Campaign(title=data.title, lead_org_id=lead.id, lead_org_path=lead.path, fiscal_year=data.fiscal_year,
                        status="draft", min_offers=data.min_offers, standstill_days=standstill_days,
                        agreement_months=data.agreement_months, round=0, round_open=False,
                        created_by=history.actor_of(principal))
    session.add(campaign)
    await session.flush()
    session.add_all([Participant(campaign_id=campaign.id, org_id=p.id, org_path=p.path) for p in participants])
    session.add_all([Item(campaign_id=campaign.id, position=n, product_id=i.product_id,
                          cap_unit_price_fen=i.cap_unit_price_fen) for n, i in enumerate(data.items)])
    await history.record(session, "campaign", campaign.id, "created", principal,
                         {**data.model_dump(mode="json"), "standstill_days": standstill_days},
                         audience=visibility.BUYERS)
    await session.commit()
    return campaign


async def items_of(session: AsyncSession, campaign_id: uuid.UUID) -> list[tuple[Item, Product]]:
    return list((await session.execute(sa.select(Item, Product).join(Product, Product.id == Item.product_id)
                                       .where(Item.campaign_id == campaign_id).order_by(Item.position))).all())


async def campaign_out(session: AsyncSession, seen: Access) -> schemas.CampaignOut:
    return (await campaigns_out(session, [seen]))[0]


async def get_campaign(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> schemas.CampaignOut:
    return await campaign_out(session, await access(session, principal, campaign_id))


async def list_campaigns(session: AsyncSession, principal: Principal, *, status: str | None, cursor: str | None,
                         limit: int) -> Page[schemas.CampaignOut]:
    """One page of the campaigns the caller leads, takes part in, is invited to or sits the panel of."""
    query = sa.select(Campaign).where(visible_campaigns(principal))
    if status:
        query = query.where(Campaign.status == status)
    rows, next_cursor = await paginate(session, query, Campaign.id, cursor=cursor, limit=limit)
    return Page(items=await campaigns_out(session, await accesses(session, principal, list(rows))),
                next_cursor=next_cursor)


async def campaign_history(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                           cursor: str | None, limit: int) -> Page[history.HistoryEntry]:
    """The lead reads all of it, others the entries addressed to them."""
    reader = (await access(session, principal, campaign_id)).reader
    page = await history.history_page(session, campaign_id, cursor=cursor, limit=limit,
                                      readers=reader.history_readers())
    return page.model_copy(update={"items": [reader.history_entry(entry) for entry in page.items]})


async def campaigns_out(session: AsyncSession, seens: list[Access]) -> list[schemas.CampaignOut]:
    """Campaigns as their readers may see them, in a fixed number of queries however many."""
    ids = [seen.campaign.id for seen in seens]
    live = {(c, i): int(q) for c, i, q in (await session.execute(
        sa.select(Demand.campaign_id, Demand.item_id, sa.func.sum(Demand.quantity))
        .where(Demand.campaign_id.in_(ids), Demand.status == "accepted")
        .group_by(Demand.campaign_id, Demand.item_id))).all()}
    items = _grouped(await session.execute(
        sa.select(Item.campaign_id, Item, Product).join(Product, Product.id == Item.product_id)
        .where(Item.campaign_id.in_(ids)).order_by(Item.campaign_id, Item.position)), pairs=True)
    participants = _grouped(await session.execute(sa.select(Participant.campaign_id, Participant.org_id).where(
        Participant.campaign_id.in_(ids)).order_by(Participant.org_id)))
    suppliers = _grouped(await session.execute(sa.select(InvitedSupplier.campaign_id, InvitedSupplier.supplier_org_id)
                                               .where(InvitedSupplier.campaign_id.in_(ids))
                                               .order_by(InvitedSupplier.supplier_org_id)))
    panel = _grouped(await session.execute(sa.select(PanelMember.campaign_id, PanelMember.user_id,
                                                     PanelMember.buyer_representative).where(
        PanelMember.campaign_id.in_(ids)).order_by(PanelMember.user_id)), pairs=True)
    agreements = dict((await session.execute(sa.select(Agreement.campaign_id, Agreement.id)
                                              .where(Agreement.campaign_id.in_(ids)))).all())
    out = []
    for seen in seens:
        campaign = seen.campaign
        rows, savings = [], None
        for item, product in items.get(campaign.id, []):
            quantity = (item.locked_quantity if item.locked_quantity is not None
                        else live.get((campaign.id, item.id), 0))
            saved = (item.cap_unit_price_fen - item.unified_price_fen) * quantity if item.unified_price_fen else None
            if saved is not None:
                savings = (savings or 0) + saved
            rows.append(schemas.ItemOut(id=item.id, product_id=item.product_id, product_name=product.name,
                                        category=product.category, cap_unit_price_fen=item.cap_unit_price_fen,
                                        aggregated_quantity=quantity, unified_price_fen=item.unified_price_fen,
                                        savings_fen=saved))
        whole = schemas.CampaignOut(
            id=campaign.id, title=campaign.title, lead_org_id=campaign.lead_org_id, fiscal_year=campaign.fiscal_year,
            participant_org_ids=participants.get(campaign.id, []), items=rows, min_offers=campaign.min_offers,
            standstill_days=campaign.standstill_days, agreement_months=campaign.agreement_months,
            status=campaign.status, round=campaign.round, round_open=campaign.round_open,
            supplier_org_ids=suppliers.get(campaign.id, []),
            panel_member_user_ids=[m for m, _ in panel.get(campaign.id, [])],
            panel_buyer_representative_user_ids=[m for m, buyer in panel.get(campaign.id, []) if buyer],
            awarded_supplier_org_id=campaign.awarded_supplier_org_id, standstill_ends_at=campaign.standstill_ends_at,
            standstill_until=end_of_last_day(campaign.standstill_ends_at) if campaign.status == "standstill" else None,
            awarded_at=campaign.awarded_at, end_reason=campaign.end_reason,
            negotiation_reason=campaign.negotiation_reason, savings_fen=savings,
            agreement_id=agreements.get(campaign.id), created_at=campaign.created_at, updated_at=campaign.updated_at)
        out.append(seen.reader.redact(whole))
    return out


def _grouped(result, *, pairs: bool = False) -> dict:
    """Rows of (campaign_id, value…) as campaign_id → [value…] in the rows' order."""
    grouped: dict = {}
    for row in result.all():
        grouped.setdefault(row[0], []).append(tuple(row[1:]) if pairs else row[1])
    return grouped


async def open_demand(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    require_status(seen.campaign, "open_demand")
    await CAMPAIGN.apply(session, "open_demand", seen.campaign.id, Note(principal, audience=visibility.EVERY_READER))
    await session.commit()
    return seen


async def declare_demand(session: AsyncSession, orgs: OrgDirectory, principal: Principal, campaign_id: uuid.UUID,
                         data: schemas.DemandCreate) -> Demand:
    seen = await access(session, principal, campaign_id)
    org = await orgs.visible(session, principal, data.org_id)
    visibility.PROCUREMENT.require(principal, org.path)
    if org.id not in seen.participant_ids:
        raise Forbidden(f"org {org.id} is not a participant of this campaign", slug="not-a-participant")
    require_status(seen.campaign, "declare_demand")
    found = (await session.execute(sa.select(Item, Product).join(Product, Product.id == Item.product_id).where(
        Item.id == data.item_id, Item.campaign_id == campaign_id))).first()
    if found is None:
        raise InvalidInput(f"item {data.item_id} is not an item of this campaign", slug="unknown-item")
    item, product = found
    demand = Demand(id=new_id(), campaign_id=campaign_id, org_id=org.id, org_path=org.path, item_id=item.id,
                    quantity=data.quantity, budget_line_id=data.budget_line_id,
                    amount_fen=data.quantity * item.cap_unit_price_fen, status="pending_budget",
                    created_by=history.actor_of(principal))
    # The demand counts only if the campaign is still taking demand when it is written: the
    # compare-and-set holds the campaign row, so a lock-demand either waits for this demand (and
    # counts it) or has already moved the campaign on (and this answers 409).
    submitted = new_event("procurement.demand.submitted", DemandSubmittedV2(
        demand_id=demand.id, campaign_id=campaign_id, org_id=org.id, item_id=item.id, product_id=product.id,
        category=product.category, fiscal_year=seen.campaign.fiscal_year, quantity=data.quantity,
        cap_unit_price_fen=item.cap_unit_price_fen, amount_fen=demand.amount_fen,
        budget_line_id=data.budget_line_id), source=SOURCE, about=demand.id)
    await CAMPAIGN.apply(session, "declare_demand", seen.campaign.id,
                         Note(principal, {"demand_id": str(demand.id), "org_id": str(org.id), "item_id": str(item.id),
                                          "quantity": data.quantity}, audience=visibility.demand_audience(org.id)),
                         Change(events=[submitted]))
    session.add(demand)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("this org already has a live demand for this item", slug="duplicate-demand") from exc
    await session.commit()
    return demand


def demands_query(seen: Access, campaign_id: uuid.UUID) -> sa.Select:
    """The demands the reader may see (services.procurement.visibility)."""
    return sa.select(Demand).where(Demand.campaign_id == campaign_id, seen.reader.demands())


async def list_demands(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *, cursor: str | None,
                       limit: int) -> Page[Demand]:
    seen = await access(session, principal, campaign_id)
    items, next_cursor = await paginate(session, demands_query(seen, campaign_id), Demand.id, cursor=cursor,
                                        limit=limit)
    return Page(items=items, next_cursor=next_cursor)


async def get_demand(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                     demand_id: uuid.UUID) -> Demand:
    seen = await access(session, principal, campaign_id)
    demand = (await session.execute(demands_query(seen, campaign_id).where(Demand.id == demand_id))).scalar()
    if demand is None:
        raise NotFound(f"no demand {demand_id} in this campaign that you may see")
    return demand


async def lock_demand(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    require_status(seen.campaign, "lock_demand")
    pending = (await session.execute(sa.select(sa.func.count()).select_from(Demand).where(
        Demand.campaign_id == campaign_id, Demand.status == "pending_budget"))).scalar()
    if pending:
        raise Conflict(f"{pending} demands still wait for the budget's answer", slug="demands-pending")
    totals = dict((await session.execute(sa.select(Demand.item_id, sa.func.sum(Demand.quantity)).where(
        Demand.campaign_id == campaign_id, Demand.status == "accepted").group_by(Demand.item_id))).all())
    for item in (await session.execute(sa.select(Item).where(Item.campaign_id == campaign_id))).scalars():
        item.locked_quantity = int(totals.get(item.id) or 0)
    # The aggregated quantities are every reader's (SPEC).
    await CAMPAIGN.apply(session, "lock_demand", seen.campaign.id,
                         Note(principal, {str(k): int(v) for k, v in totals.items()}, audience=visibility.EVERY_READER))
    await session.commit()
    return seen


async def open_offers(session: AsyncSession, orgs: OrgDirectory, principal: Principal, campaign_id: uuid.UUID,
                      data: schemas.OpenOffers) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    require_status(seen.campaign, "open_offers")
    for org_id in dict.fromkeys(data.supplier_org_ids):
        org = await orgs.existing(session, org_id)
        if org.kind != "supplier":
            raise InvalidInput(f"org {org_id} is not a supplier", slug="not-a-supplier")
        session.add(InvitedSupplier(campaign_id=campaign_id, supplier_org_id=org.id, org_path=org.path,
                                    name=org.name))
    await CAMPAIGN.apply(session, "open_offers", seen.campaign.id,
                         Note(principal, {"supplier_org_ids": [str(s) for s in data.supplier_org_ids]},
                              audience=visibility.BUYERS),
                         Change({"round": 1, "round_open": True}))
    await session.commit()
    return seen



async def end_campaign(session: AsyncSession, principal: Principal | str, campaign: Campaign, command: str,
                       reason: str) -> None:
    """Ends an open campaign (`cancel` or `declare_unsuccessful`) and releases what its demands hold."""
    await CAMPAIGN.apply(session, command, campaign.id,
                         Note(principal, {"reason": reason}, audience=visibility.EVERY_READER),
                         Change({"end_reason": reason}))
    await demands.release_demands(session, campaign.id, reason)


async def cancel_campaign(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                          data: schemas.Reason) -> Access:
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    require_status(seen.campaign, "cancel")
    await end_campaign(session, principal, seen.campaign, "cancel", data.reason)
    await session.commit()
    return seen


async def declare_unsuccessful(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                               data: schemas.Reason) -> Access:
    """Ends an open campaign as unsuccessful (流标), e.g. when the negotiation finds no acceptable price."""
    seen = await access(session, principal, campaign_id, lock=True)
    seen.require_lead(principal)
    require_status(seen.campaign, "declare_unsuccessful")
    await end_campaign(session, principal, seen.campaign, "declare_unsuccessful", data.reason)
    await session.commit()
    return seen
