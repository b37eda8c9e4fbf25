"""Framework agreements: seen by the lead's subtree, the participants and the winning supplier
(visibility.agreements_seen); who may read one reads all of it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal, refuse_auditor_writes
from kernel.errors import NotFound
from services.procurement import visibility
from services.procurement.agreements import schemas
from services.procurement.agreements.models import AGREEMENT, Agreement, AgreementItem
from services.procurement.campaigns.access import LEAD_ROLES
from services.procurement.campaigns.service import release_demands


async def visible_agreement(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
    agreement = (await session.execute(sa.select(Agreement).where(Agreement.id == agreement_id,
                                                                  visibility.agreements_seen(principal)))).scalar()
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id} that you may see")
    return agreement


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
    refuse_auditor_writes(principal)
    principal.require(agreement.lead_org_path, *LEAD_ROLES)
    AGREEMENT.require(command, agreement.status)
    await AGREEMENT.apply(session, command, agreement.id, actor=principal)
    if command == "terminate":
        # The agreement's life is over: what demands still hold goes back to the budget lines.
        await release_demands(session, agreement.campaign_id, "agreement terminated")
    await session.commit()
    return agreement
