"""Framework agreements: seen by the lead's subtree, the participants and the winning supplier
(visibility.agreements_seen); who may read one reads all of it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import AgreementAwarded
from kernel.contracts import AgreementItem as AgreementItemPayload
from kernel.errors import NotFound
from kernel.events import new_event
from kernel.outbox import add_event
from kernel.pagination import Page, paginate
from kernel.transitions import Note
from services.procurement import visibility
from services.procurement.agreements import schemas
from services.procurement.agreements.models import AGREEMENT, Agreement, AgreementItem
from services.procurement.demands import service as demands
from services.procurement.working_days import add_months

SOURCE = "zhengban/procurement"


async def visible_agreement(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
    agreement = (await session.execute(sa.select(Agreement).where(Agreement.id == agreement_id,
                                                                  visibility.agreements_seen(principal)))).scalar()
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id} that you may see")
    return agreement


async def list_agreements(session: AsyncSession, principal: Principal, *, status: str | None, cursor: str | None,
                          limit: int) -> Page[schemas.AgreementOut]:
    """One page of the agreements the caller may see, optionally of one status."""
    query = sa.select(Agreement).where(visibility.agreements_seen(principal))
    if status:
        query = query.where(Agreement.status == status)
    rows, next_cursor = await paginate(session, query, Agreement.id, cursor=cursor, limit=limit)
    return Page(items=await agreements_out(session, list(rows)), next_cursor=next_cursor)


async def agreement_history(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, *,
                            cursor: str | None, limit: int) -> Page[history.HistoryEntry]:
    await visible_agreement(session, principal, agreement_id)
    return await history.history_page(session, agreement_id, cursor=cursor, limit=limit)


async def agreement_out(session: AsyncSession, agreement: Agreement) -> schemas.AgreementOut:
    return (await agreements_out(session, [agreement]))[0]


async def agreements_out(session: AsyncSession, agreements: list[Agreement]) -> list[schemas.AgreementOut]:
    """Agreements with their prices, in one query for the items however many agreements."""
    items: dict[uuid.UUID, list[AgreementItem]] = {}
    for item in (await session.execute(sa.select(AgreementItem).where(
            AgreementItem.agreement_id.in_([a.id for a in agreements]))
            .order_by(AgreementItem.agreement_id, AgreementItem.item_id))).scalars():
        items.setdefault(item.agreement_id, []).append(item)
    return [schemas.AgreementOut(
        id=a.id, campaign_id=a.campaign_id, supplier_org_id=a.supplier_org_id, lead_org_id=a.lead_org_id,
        items=[schemas.AgreementItemOut.model_validate(i) for i in items.get(a.id, [])], valid_from=a.valid_from,
        valid_to=a.valid_to, status=a.status, created_at=a.created_at, updated_at=a.updated_at) for a in agreements]


async def change_status(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, command: str,
                        ) -> Agreement:
    """Suspends, resumes or terminates an agreement (AGREEMENT's table), once however many race."""
    agreement = await visible_agreement(session, principal, agreement_id)
    visibility.PROCUREMENT.require(principal, agreement.lead_org_path)
    AGREEMENT.require(command, agreement.status)
    await AGREEMENT.apply(session, command, agreement.id, Note(principal))
    if command == "terminate":
        # The agreement's life is over: what demands still hold goes back to the budget lines.
        await demands.release_demands(session, agreement.campaign_id, "agreement terminated")
    await session.commit()
    return agreement


async def create_from_award(session: AsyncSession, actor: Principal | str, *, agreement_id: uuid.UUID,
                            campaign_id: uuid.UUID, lead_org_id: uuid.UUID, lead_org_path: str,
                            supplier_org_id: uuid.UUID, supplier_org_path: str, valid_from: datetime, months: int,
                            items: list[AgreementItemPayload]) -> Agreement:
    """Makes (and announces) the framework agreement an award ends in: the awarded campaign passes
    in what the agreement holds, so this folder never reads the campaigns'."""
    agreement = Agreement(id=agreement_id, campaign_id=campaign_id, supplier_org_id=supplier_org_id,
                          supplier_org_path=supplier_org_path, lead_org_id=lead_org_id, lead_org_path=lead_org_path,
                          valid_from=valid_from, valid_to=add_months(valid_from, months), status="active")
    session.add(agreement)
    await session.flush()
    session.add_all([AgreementItem(agreement_id=agreement.id, item_id=item.item_id, product_id=item.product_id,
                                   unit_price_fen=item.unit_price_fen, cap_unit_price_fen=item.cap_unit_price_fen)
                     for item in items])
    await history.record(session, "agreement", agreement.id, "created", actor, {"campaign_id": str(campaign_id)})
    await add_event(session, new_event("procurement.agreement.awarded", AgreementAwarded(
        agreement_id=agreement.id, campaign_id=campaign_id, lead_org_id=lead_org_id,
        supplier_org_id=supplier_org_id, valid_from=agreement.valid_from, valid_to=agreement.valid_to,
        items=items), source=SOURCE, about=agreement.id))
    return agreement
