"""Complaints an invited supplier lodges during the standstill: an open one holds the award."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.errors import NotFound
from kernel.ids import new_id
from kernel.pagination import Page, paginate
from kernel.transitions import Change, Note
from services.procurement import visibility
from services.procurement.campaigns import schemas
from services.procurement.campaigns import service as campaigns
from services.procurement.campaigns.models import CAMPAIGN, COMPLAINT, Complaint, Item
from services.procurement.visibility import access


async def lodge_complaint(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID,
                          data: schemas.Reason) -> Complaint:
    seen = await access(session, principal, campaign_id, lock=True)
    supplier = seen.supplier_org(principal)
    campaigns.require_status(seen.campaign, "lodge_complaint")
    complaint = Complaint(id=new_id(), campaign_id=campaign_id, supplier_org_id=supplier, reason=data.reason,
                          status="open", created_by=history.actor_of(principal))
    await CAMPAIGN.apply(session, "lodge_complaint", seen.campaign.id,
                         Note(principal, {"complaint_id": str(complaint.id)},
                              audience=visibility.supplier_audience(supplier)))
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
    await COMPLAINT.apply(session, command, complaint.id,
                          Note(principal, {"complaint_id": str(complaint_id), "resolution": data.resolution},
                               on=("campaign", campaign_id),
                               audience=visibility.supplier_audience(complaint.supplier_org_id)),
                          Change({"resolution": data.resolution}))
    campaign = seen.campaign
    if data.upheld and campaign.status == "standstill":
        await CAMPAIGN.apply(session, "withdraw_award", campaign.id,
                             Note(principal, {"complaint_id": str(complaint_id)}, audience=visibility.EVERY_READER),
                             Change({"awarded_supplier_org_id": None, "standstill_ends_at": None,
                                     "negotiation_reason": None}))
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
