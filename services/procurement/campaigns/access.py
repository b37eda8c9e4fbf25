"""Who sees a campaign, and as what. Joint procurement crosses subtrees by design: the lead org's
subtree runs it, participant units declare demand and order, invited suppliers offer, the panel's
members (wherever their org sits) evaluate. What each of them sees is services.procurement.visibility's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.errors import Forbidden, NotFound
from kernel.orgs import in_subtree
from services.procurement.campaigns.models import Campaign, InvitedSupplier, PanelMember, Participant
from services.procurement.roles import LEAD_ROLES
from services.procurement.visibility import Reader, reader_of, reads_everything


@dataclass
class Access:
    campaign: Campaign
    lead: bool  # the caller reads everything of the campaign (visibility.reads_everything)
    participant_ids: set[uuid.UUID]  # participant orgs in the caller's subtree
    supplier_ids: set[uuid.UUID]  # invited supplier orgs in the caller's subtree
    panel: bool = False  # the caller sits on the campaign's panel
    lead_subtree: bool = False  # the campaign's lead org is in the caller's subtree, whatever its roles

    @property
    def reader(self) -> Reader:
        return reader_of(self.campaign, lead=self.lead, panel=self.panel, participant_ids=self.participant_ids,
                         supplier_ids=self.supplier_ids, lead_subtree=self.lead_subtree)

    def require_lead(self, principal: Principal) -> None:
        if not (self.lead and principal.may(self.campaign.lead_org_path, *LEAD_ROLES)):
            raise Forbidden("this needs the procurement role over the campaign's lead org")

    def supplier_org(self, principal: Principal) -> uuid.UUID:
        """The invited supplier the caller speaks for."""
        if principal.is_auditor or "supplier" not in principal.roles or principal.org_id not in self.supplier_ids:
            raise Forbidden("this needs the supplier role in an invited supplier org")
        return principal.org_id


def visible_campaigns(principal: Principal) -> sa.ColumnElement[bool]:
    """The one filter for campaigns a caller may see."""
    return sa.or_(
        in_subtree(Campaign.lead_org_path, principal),
        sa.exists().where(Participant.campaign_id == Campaign.id, in_subtree(Participant.org_path, principal)),
        sa.exists().where(InvitedSupplier.campaign_id == Campaign.id, in_subtree(InvitedSupplier.org_path, principal)),
        sa.exists().where(PanelMember.campaign_id == Campaign.id, PanelMember.user_id == principal.subject),
    )


async def access(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *,
                 lock: bool = False) -> Access:
    query = sa.select(Campaign).where(Campaign.id == campaign_id)
    if lock:  # state changes of one campaign are serialized (SQLite's BEGIN IMMEDIATE already is)
        query = query.with_for_update()
    campaign = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    participants = (await session.execute(sa.select(Participant.org_id, Participant.org_path)
                                          .where(Participant.campaign_id == campaign_id))).all()
    suppliers = (await session.execute(sa.select(InvitedSupplier.supplier_org_id, InvitedSupplier.org_path)
                                       .where(InvitedSupplier.campaign_id == campaign_id))).all()
    seen = Access(campaign, reads_everything(principal, campaign.lead_org_path),
                  {org_id for org_id, path in participants if principal.covers(path)},
                  {org_id for org_id, path in suppliers if principal.covers(path)},
                  lead_subtree=principal.covers(campaign.lead_org_path))
    seen.panel = (await session.execute(sa.select(PanelMember.user_id).where(
        PanelMember.campaign_id == campaign_id, PanelMember.user_id == principal.subject))).first() is not None
    if not (seen.lead_subtree or seen.participant_ids or seen.supplier_ids or seen.panel):
        raise NotFound(f"no campaign {campaign_id}")
    return seen


async def accesses(session: AsyncSession, principal: Principal, campaigns: list[Campaign]) -> list[Access]:
    """What the caller is to each of `campaigns` (all of them visible to it), in three queries."""
    ids = [c.id for c in campaigns]
    participants: dict[uuid.UUID, set[uuid.UUID]] = {}
    for campaign_id, org_id, path in (await session.execute(sa.select(
            Participant.campaign_id, Participant.org_id, Participant.org_path)
            .where(Participant.campaign_id.in_(ids)))).all():
        if principal.covers(path):
            participants.setdefault(campaign_id, set()).add(org_id)
    suppliers: dict[uuid.UUID, set[uuid.UUID]] = {}
    for campaign_id, org_id, path in (await session.execute(sa.select(
            InvitedSupplier.campaign_id, InvitedSupplier.supplier_org_id, InvitedSupplier.org_path)
            .where(InvitedSupplier.campaign_id.in_(ids)))).all():
        if principal.covers(path):
            suppliers.setdefault(campaign_id, set()).add(org_id)
    panel = set((await session.execute(sa.select(PanelMember.campaign_id).where(
        PanelMember.campaign_id.in_(ids), PanelMember.user_id == principal.subject))).scalars())
    return [Access(c, reads_everything(principal, c.lead_org_path), participants.get(c.id, set()),
                   suppliers.get(c.id, set()), c.id in panel, principal.covers(c.lead_org_path)) for c in campaigns]
