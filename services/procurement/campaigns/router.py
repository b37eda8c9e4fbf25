from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import Day, Word
from kernel.deps import Orgs, Session
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page
from services.procurement import visibility
from services.procurement.campaigns import award as awards
from services.procurement.campaigns import complaints, offers, panel, rounds, schemas, service
from services.procurement.visibility import PANEL_MEMBERS, PROCUREMENT, SUPPLIERS
from services.procurement.working_days import WorkingCalendar, count_working_days, load

router = APIRouter(prefix="/api/v1/procurement", tags=["campaigns"])


def get_calendar(request: Request) -> WorkingCalendar:
    return load(request.app.state.settings.calendar_file)


Calendar = Annotated[WorkingCalendar, Depends(get_calendar)]


@router.post("/campaigns", status_code=201, response_model=schemas.CampaignOut,
             openapi_extra={**PROCUREMENT, **gives(campaign_id="/id")},
             summary="Starts a joint procurement campaign (draft) with participants and capped items.")
async def create_campaign(data: schemas.CampaignCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    campaign = await service.create_campaign(session, orgs, principal, data)
    return await service.get_campaign(session, principal, campaign.id)


@router.get("/working-days", response_model=schemas.WorkingDays, openapi_extra=SIGNED_IN,
            summary="Counts working days on the mainland calendar (holidays and make-up days included).")
async def working_days(principal: CurrentPrincipal, calendar: Calendar,
                       start: Annotated[Day, Query(alias="from")], days: Annotated[int, Query(ge=0, le=366)]):
    counted = count_working_days(start, days, calendar)
    return schemas.WorkingDays(from_=start, days=days, until=counted.until, calendar=counted.calendar)


@router.get("/parties", response_model=schemas.Parties, openapi_extra=SIGNED_IN,
            summary="Tells which of up to 200 org, user and API-key ids the caller meets in procurement "
                    "(the gateway names those).")
async def parties(principal: CurrentPrincipal, session: Session,
                  id: Annotated[list[uuid.UUID] | None, Query(max_length=200)] = None):  # noqa: A002 - ?id=…&id=…
    found = await visibility.parties(session, principal, set(id or ()))
    return schemas.Parties(items=[schemas.Party(id=i) for i in sorted(found)])


@router.get("/campaigns", response_model=Page[schemas.CampaignOut],
            openapi_extra={**SIGNED_IN, **gives(campaign_id="/items/0/id")},
            summary="Lists the campaigns the caller leads, takes part in, or is invited to.")
async def list_campaigns(principal: CurrentPrincipal, session: Session, status: Word | None = None,
                         cursor: Cursor = None, limit: Limit = 50):
    return await service.list_campaigns(session, principal, status=status, cursor=cursor, limit=limit)


@router.get("/campaigns/{campaign_id}", response_model=schemas.CampaignOut, openapi_extra=SIGNED_IN,
            summary="Gets a campaign: items with cap, aggregated demand, unified price and savings.")
async def get_campaign(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.get_campaign(session, principal, campaign_id)


@router.post("/campaigns/{campaign_id}/open-demand", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Opens the campaign to the participants' demand.")
async def open_demand(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await service.open_demand(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/demands", status_code=201, response_model=schemas.DemandOut,
             openapi_extra={**PROCUREMENT, **gives(demand_id="/id")},
             summary="Declares a participant's demand against its budget line (the budget pre-encumbers it).")
async def declare_demand(campaign_id: uuid.UUID, data: schemas.DemandCreate, principal: CurrentPrincipal,
                         session: Session, orgs: Orgs):
    return await service.declare_demand(session, orgs, principal, campaign_id, data)


@router.get("/campaigns/{campaign_id}/demands", response_model=Page[schemas.DemandOut],
            openapi_extra={**SIGNED_IN, **gives(demand_id="/items/0/id")},
            summary="Lists demands: all for the lead, its own for a participant.")
async def list_demands(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session, cursor: Cursor = None,
                       limit: Limit = 100):
    return await service.list_demands(session, principal, campaign_id, cursor=cursor, limit=limit)


@router.get("/campaigns/{campaign_id}/demands/{demand_id}", response_model=schemas.DemandOut, openapi_extra=SIGNED_IN,
            summary="Gets a demand with its budget status.")
async def get_demand(campaign_id: uuid.UUID, demand_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.get_demand(session, principal, campaign_id, demand_id)


@router.post("/campaigns/{campaign_id}/lock-demand", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Freezes demand and aggregates it per item.")
async def lock_demand(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await service.lock_demand(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/open-offers", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Invites suppliers and opens the first (sealed) offer round.")
async def open_offers(campaign_id: uuid.UUID, data: schemas.OpenOffers, principal: CurrentPrincipal,
                      session: Session, orgs: Orgs):
    return await service.campaign_out(session, await service.open_offers(session, orgs, principal, campaign_id, data))


@router.post("/campaigns/{campaign_id}/offers", status_code=201, response_model=schemas.OfferOut,
             openapi_extra=SUPPLIERS, summary="Submits the caller's sealed offer for the open round.")
async def submit_offer(campaign_id: uuid.UUID, data: schemas.OfferCreate, principal: CurrentPrincipal,
                       session: Session):
    return await offers.submit_offer(session, principal, campaign_id, data)


@router.get("/campaigns/{campaign_id}/offers", response_model=Page[schemas.OfferOut], openapi_extra=SIGNED_IN,
            summary="Lists offers: a supplier its own at once; the lead, panel and participants closed rounds'.")
async def list_offers(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session, cursor: Cursor = None,
                      limit: Limit = 100):
    return await offers.list_offers(session, principal, campaign_id, cursor=cursor, limit=limit)


@router.post("/campaigns/{campaign_id}/close-offers", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Closes the open round; after the first, too few qualifying offers make it unsuccessful.")
async def close_offers(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await rounds.close_offers(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/rounds", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Opens another negotiation round (prices may only stay or fall).")
async def open_round(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await rounds.open_round(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/panel", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Names the evaluation panel (at least 3 members, an odd number).")
async def set_panel(campaign_id: uuid.UUID, data: schemas.Panel, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await panel.set_panel(session, principal, campaign_id, data))


@router.post("/campaigns/{campaign_id}/evaluations", status_code=201, response_model=schemas.EvaluationOut,
             openapi_extra=PANEL_MEMBERS,
             summary="Scores a qualifying supplier and says whether to recommend it (panel members only).")
async def evaluate(campaign_id: uuid.UUID, data: schemas.EvaluationCreate, principal: CurrentPrincipal,
                   session: Session):
    return await panel.evaluate(session, principal, campaign_id, data)


@router.get("/campaigns/{campaign_id}/evaluations", response_model=Page[schemas.EvaluationOut],
            openapi_extra=SIGNED_IN, summary="Lists the panel's evaluations (the lead and the panel; others none).")
async def list_evaluations(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                           cursor: Cursor = None, limit: Limit = 100):
    return await panel.list_evaluations(session, principal, campaign_id, cursor=cursor, limit=limit)


@router.post("/campaigns/{campaign_id}/award", response_model=schemas.CampaignOut,
             openapi_extra={**PROCUREMENT, **gives(agreement_id="/agreement_id")},
             summary="Awards to the lowest final price the panel majority recommends; the standstill starts.")
async def award(campaign_id: uuid.UUID, data: schemas.Award, principal: CurrentPrincipal, session: Session,
                calendar: Calendar):
    return await service.campaign_out(session, await awards.award(session, principal, campaign_id, data, calendar))


@router.post("/campaigns/{campaign_id}/complaints", status_code=201, response_model=schemas.ComplaintOut,
             openapi_extra={**SUPPLIERS, **gives(complaint_id="/id")},
             summary="Lodges an invited supplier's complaint; it holds the award.")
async def lodge_complaint(campaign_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal,
                          session: Session):
    return await complaints.lodge_complaint(session, principal, campaign_id, data)


@router.get("/campaigns/{campaign_id}/complaints", response_model=Page[schemas.ComplaintOut],
            openapi_extra={**SIGNED_IN, **gives(complaint_id="/items/0/id")},
            summary="Lists complaints: all for the lead, its own for a supplier.")
async def list_complaints(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                          cursor: Cursor = None, limit: Limit = 100):
    return await complaints.list_complaints(session, principal, campaign_id, cursor=cursor, limit=limit)


@router.post("/campaigns/{campaign_id}/complaints/{complaint_id}/resolve", response_model=schemas.ComplaintOut,
             openapi_extra=PROCUREMENT, summary="Upholds (withdraws the award) or dismisses a complaint.")
async def resolve_complaint(campaign_id: uuid.UUID, complaint_id: uuid.UUID, data: schemas.ComplaintResolution,
                            principal: CurrentPrincipal, session: Session):
    return await complaints.resolve_complaint(session, principal, campaign_id, complaint_id, data)


@router.post("/campaigns/{campaign_id}/cancel", response_model=schemas.CampaignOut, openapi_extra=PROCUREMENT,
             summary="Cancels the campaign and releases every pre-encumbrance.")
async def cancel(campaign_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal, session: Session):
    return await service.campaign_out(session, await service.cancel_campaign(session, principal, campaign_id, data))


@router.post("/campaigns/{campaign_id}/declare-unsuccessful", response_model=schemas.CampaignOut,
             openapi_extra=PROCUREMENT,
             summary="Ends an open campaign as unsuccessful (流标) and releases every pre-encumbrance.")
async def declare_unsuccessful(campaign_id: uuid.UUID, data: schemas.Reason, principal: CurrentPrincipal,
                               session: Session):
    return await service.campaign_out(session, await service.declare_unsuccessful(session, principal, campaign_id,
                                                                                  data))


@router.get("/campaigns/{campaign_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a campaign's history: the lead all of it, others the entries addressed to them.")
async def campaign_history(campaign_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
                           cursor: Cursor = None, limit: Limit = 100):
    return await service.campaign_history(session, principal, campaign_id, cursor=cursor, limit=limit)
