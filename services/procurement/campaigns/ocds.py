"""A campaign as an Open Contracting Data Standard 1.1 release package: the framework agreement's
own release, and one release per call-off order that points back to it (relatedProcesses)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.ids import utcnow
from kernel.schema import orgs
from services.procurement.agreements.models import Agreement, AgreementItem
from services.procurement.campaigns.access import Access
from services.procurement.campaigns.models import InvitedSupplier, Participant
from services.procurement.campaigns.offers import qualifying
from services.procurement.campaigns.service import items_of
from services.procurement.orders.models import Order

PREFIX = "ocds-zhengban"
TENDER_STATUS = {"draft": "planning", "demand_open": "planning", "demand_locked": "planned", "tendering": "active",
                 "negotiation": "active", "standstill": "active", "awarded": "complete", "cancelled": "cancelled",
                 "unsuccessful": "unsuccessful"}


def money(fen: int) -> dict:
    return {"amount": fen / 100, "currency": "CNY"}


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def release_package(session: AsyncSession, seen: Access, base_url: str) -> dict:
    campaign = seen.campaign
    ocid = f"{PREFIX}-{campaign.id}"
    names = dict((await session.execute(sa.select(orgs.c.id, orgs.c.name))).all())
    participants = (await session.execute(sa.select(Participant.org_id)
                                          .where(Participant.campaign_id == campaign.id))).scalars().all()
    suppliers = (await session.execute(sa.select(InvitedSupplier.supplier_org_id)
                                       .where(InvitedSupplier.campaign_id == campaign.id))).scalars().all()
    items = await items_of(session, campaign.id)
    offers_closed = campaign.status in ("negotiation", "standstill", "awarded") or (
        campaign.status == "unsuccessful" and campaign.round >= 1)

    parties: dict = {}

    def party(org_id, role):
        entry = parties.setdefault(str(org_id), {"id": str(org_id), "name": names.get(org_id, str(org_id)),
                                                 "roles": []})
        if role not in entry["roles"]:
            entry["roles"].append(role)

    party(campaign.lead_org_id, "procuringEntity")
    for org_id in participants:
        party(org_id, "buyer")
    if seen.lead:  # who was invited is the lead's to know (and everybody's once offers close)
        for org_id in suppliers:
            party(org_id, "tenderer")
    tender = {
        "id": str(campaign.id), "title": campaign.title, "status": TENDER_STATUS[campaign.status],
        "procurementMethod": "selective",
        "procurementMethodDetails": "联合采购 · 竞争性谈判 (joint purchase, negotiation)",
        "techniques": {"hasFrameworkAgreement": True},
        "items": [{"id": str(item.id), "description": f"{product.vendor} {product.name} {product.edition}",
                   "classification": {"scheme": "zhengban-category", "id": product.category},
                   "quantity": item.locked_quantity or 0,
                   "unit": {"name": product.metric, "value": money(item.cap_unit_price_fen)}}
                  for item, product in items],
        "value": money(sum(item.cap_unit_price_fen * (item.locked_quantity or 0) for item, _ in items)),
    }
    if offers_closed:
        tender["numberOfTenderers"] = len(await qualifying(session, campaign.id))
    release = {"ocid": ocid, "id": f"{campaign.id}-{stamp(campaign.updated_at)}", "date": stamp(campaign.updated_at),
               "tag": ["tender"], "initiationType": "tender", "language": "zh",
               "buyer": {"id": str(campaign.lead_org_id), "name": names.get(campaign.lead_org_id, "")},
               "tender": tender}
    agreement = (await session.execute(sa.select(Agreement).where(Agreement.campaign_id == campaign.id))).scalar()
    releases = [release]
    if campaign.awarded_supplier_org_id and campaign.status in ("standstill", "awarded"):
        party(campaign.awarded_supplier_org_id, "supplier")
        award = {"id": f"{campaign.id}-award", "status": "active" if campaign.status == "awarded" else "pending",
                 "date": stamp(campaign.awarded_at or campaign.updated_at),
                 "suppliers": [{"id": str(campaign.awarded_supplier_org_id),
                                "name": names.get(campaign.awarded_supplier_org_id, "")}],
                 "value": money(sum((item.unified_price_fen or 0) * (item.locked_quantity or 0) for item, _ in items)),
                 "items": [{"id": str(item.id), "quantity": item.locked_quantity or 0,
                            "unit": {"name": product.metric, "value": money(item.unified_price_fen or 0)}}
                           for item, product in items]}
        release["awards"] = [award]
        release["tag"] = ["award"] if agreement is None else ["award", "contract"]
    if agreement is not None:
        prices = (await session.execute(sa.select(AgreementItem)
                                        .where(AgreementItem.agreement_id == agreement.id))).scalars().all()
        release["contracts"] = [{
            "id": str(agreement.id), "awardID": f"{campaign.id}-award", "title": f"框架协议：{campaign.title}",
            "status": {"active": "active", "suspended": "active", "terminated": "terminated"}[agreement.status],
            "period": {"startDate": stamp(agreement.valid_from), "endDate": stamp(agreement.valid_to)},
            "items": [{"id": str(p.item_id), "unit": {"value": money(p.unit_price_fen)}} for p in prices]}]
        orders = (await session.execute(sa.select(Order).where(Order.agreement_id == agreement.id)
                                        .order_by(Order.created_at))).scalars().all()
        for order in orders:
            if not (seen.lead or order.org_id in seen.participant_ids or seen.supplier_ids):
                continue
            call_off = f"{PREFIX}-{order.id}"
            release.setdefault("relatedProcesses", []).append({
                "id": str(order.id), "relationship": ["subContract"], "title": "call-off order",
                "scheme": "ocid", "identifier": call_off})
            releases.append({
                "ocid": call_off, "id": f"{order.id}-{stamp(order.updated_at)}", "date": stamp(order.updated_at),
                "tag": ["contract"], "initiationType": "tender", "language": "zh",
                "buyer": {"id": str(order.org_id), "name": names.get(order.org_id, "")},
                "relatedProcesses": [{"id": str(agreement.id), "relationship": ["framework"],
                                      "title": campaign.title, "scheme": "ocid", "identifier": ocid}],
                "contracts": [{"id": str(order.id), "status": {"pending_budget": "pending", "confirmed": "active",
                                                               "delivered": "terminated", "rejected": "cancelled",
                                                               "cancelled": "cancelled"}[order.status],
                               "value": money(order.amount_fen),
                               "items": [{"id": str(order.item_id), "quantity": order.quantity,
                                          "unit": {"value": money(order.unit_price_fen)}}]}],
            })
            party(order.org_id, "buyer")
    release["parties"] = list(parties.values())
    for extra in releases[1:]:
        extra["parties"] = [parties[extra["buyer"]["id"]], {"id": str(agreement.supplier_org_id),
                                                           "name": names.get(agreement.supplier_org_id, ""),
                                                           "roles": ["supplier"]}]
    return {"uri": f"{base_url}/api/v1/procurement/campaigns/{campaign.id}/ocds", "version": "1.1",
            "publishedDate": stamp(utcnow()), "publisher": {"name": "Zhengban 正版"},
            "license": "https://creativecommons.org/licenses/by/4.0/",
            "publicationPolicy": f"{base_url}/docs", "releases": releases}
