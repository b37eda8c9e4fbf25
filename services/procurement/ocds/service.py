"""A campaign as an Open Contracting Data Standard 1.1 release package: the framework agreement's
own release, and one release per call-off order that points back to it (relatedProcesses).

The package holds what its reader may see (services.procurement.visibility): a supplier's export
names no other supplier, no units' demands and no orders but, for the winner, those under its
agreement. Amounts are yuan computed from integer fen as Decimal and written as exact JSON numbers.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.ids import utcnow
from kernel.schema import orgs
from services.procurement.agreements.models import Agreement, AgreementItem
from services.procurement.campaigns.models import InvitedSupplier, Participant
from services.procurement.campaigns.offers import qualifying
from services.procurement.campaigns.service import items_of
from services.procurement.orders.models import Order
from services.procurement.visibility import PANEL, PARTICIPANT, Access, access

PREFIX = "ocds-zhengban"
TENDER_STATUS = {"draft": "planning", "demand_open": "planning", "demand_locked": "planned", "tendering": "active",
                 "negotiation": "active", "standstill": "active", "awarded": "complete", "cancelled": "cancelled",
                 "unsuccessful": "unsuccessful"}

ORDER_STATUS = {"pending_budget": "pending", "confirmed": "active", "delivered": "terminated",
                "rejected": "cancelled", "cancelled": "cancelled"}


def money(fen: int) -> dict:
    return {"amount": Decimal(fen).scaleb(-2), "currency": "CNY"}


class ExactJSONResponse(JSONResponse):
    """JSON whose Decimal amounts are written digit for digit (json would go through float)."""

    def render(self, content) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=_number_placeholder)
        return _PLACEHOLDER.sub(lambda m: m.group(1), text).encode()


_PLACEHOLDER = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')


def _number_placeholder(value):
    if isinstance(value, Decimal):
        return f"\0{value}\0"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def campaign_package(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, base_url: str) -> dict:
    """The campaign's release package as the caller may see it."""
    return await release_package(session, await access(session, principal, campaign_id), base_url)


async def release_package(session: AsyncSession, seen: Access, base_url: str) -> dict:
    campaign, reader = seen.campaign, seen.reader
    ocid = f"{PREFIX}-{campaign.id}"
    participants = (await session.execute(sa.select(Participant.org_id)
                                          .where(Participant.campaign_id == campaign.id))).scalars().all()
    if not reader.kinds & {PANEL, PARTICIPANT} and not reader.everything:
        participants = []  # a supplier does not learn which units buy
    suppliers = (await session.execute(sa.select(InvitedSupplier.supplier_org_id)
                                       .where(InvitedSupplier.campaign_id == campaign.id))).scalars().all()
    items = await items_of(session, campaign.id)
    agreement = (await session.execute(sa.select(Agreement).where(Agreement.campaign_id == campaign.id))).scalar()
    if agreement is not None and not reader.sees_agreement:
        agreement = None
    orders_seen = [] if agreement is None else (await session.execute(
        sa.select(Order).where(Order.agreement_id == agreement.id, reader.orders(Order.org_id))
        .order_by(Order.id))).scalars().all()
    named = {campaign.lead_org_id, *participants, *(o.org_id for o in orders_seen)}
    if reader.sees_competition:
        named |= set(suppliers)
    if campaign.awarded_supplier_org_id:
        named.add(campaign.awarded_supplier_org_id)
    names = dict((await session.execute(sa.select(orgs.c.id, orgs.c.name).where(orgs.c.id.in_(named)))).all())
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
    if reader.sees_competition:
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
    if campaign.negotiation_reason:
        tender["procurementMethodRationale"] = campaign.negotiation_reason
    if offers_closed and reader.sees_competition:
        tender["numberOfTenderers"] = len(await qualifying(session, campaign.id))
    release = {"ocid": ocid, "id": f"{campaign.id}-{stamp(campaign.updated_at)}", "date": stamp(campaign.updated_at),
               "tag": ["tender"], "initiationType": "tender", "language": "zh",
               "buyer": {"id": str(campaign.lead_org_id), "name": names.get(campaign.lead_org_id, "")},
               "tender": tender}
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
        supplier = {"id": str(agreement.supplier_org_id), "name": names.get(agreement.supplier_org_id, "")}
        for order in orders_seen:
            call_off = f"{PREFIX}-{order.id}"
            release.setdefault("relatedProcesses", []).append({
                "id": str(order.id), "relationship": ["subContract"], "title": "call-off order",
                "scheme": "ocid", "identifier": call_off})
            releases.append({
                "ocid": call_off, "id": f"{order.id}-{stamp(order.updated_at)}", "date": stamp(order.updated_at),
                "tag": ["award", "contract"], "initiationType": "tender", "language": "zh",
                "buyer": {"id": str(order.org_id), "name": names.get(order.org_id, "")},
                "relatedProcesses": [{"id": str(agreement.id), "relationship": ["framework"],
                                      "title": campaign.title, "scheme": "ocid", "identifier": ocid}],
                "awards": [{"id": f"{order.id}-award", "status": "active", "date": stamp(order.created_at),
                            "suppliers": [supplier], "value": money(order.amount_fen)}],
                "contracts": [{"id": str(order.id), "awardID": f"{order.id}-award",
                               "status": ORDER_STATUS[order.status],
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
