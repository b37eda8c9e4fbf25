from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Response

from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import Text
from kernel.deps import Orgs, Session
from services.licenses.compliance import service

router = APIRouter(prefix="/api/v1/licenses", tags=["compliance"])


async def _report(session, orgs, principal, org_id: uuid.UUID, as_of: str | None) -> dict:
    return await service.position(session, orgs, principal, org_id, service.parse_as_of(as_of))


@router.get("/compliance", openapi_extra=SIGNED_IN,
            summary="The compliance position of an org's subtree now or at a past date or time (as_of).")
async def compliance(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                     as_of: Text(40) | None = None):
    # orjson writes the report (tens of thousands of listed devices, for a large group) in one
    # pass, where FastAPI's generic encoder walks it value by value. The listed devices' ids come
    # as text already; `str` is for the org's id when read through asyncpg, whose own UUID type
    # orjson does not take for a uuid.UUID. The report's objects are written and freed before the
    # cyclic collector runs again (`collector_paused`): freed, they are never walked.
    with service.collector_paused():
        report = await _report(session, orgs, principal, org_id, as_of)
        body = orjson.dumps(report, default=str)
        del report
    return Response(body, media_type="application/json")


@router.get("/compliance.csv", openapi_extra=SIGNED_IN, response_class=Response,
            summary="The compliance position as the inspection survey form, in CSV.")
async def compliance_csv(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                         as_of: Text(40) | None = None):
    report = await _report(session, orgs, principal, org_id, as_of)
    return Response(service.as_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="compliance.csv"'})


@router.get("/compliance.xlsx", openapi_extra=SIGNED_IN, response_class=Response,
            summary="The compliance position as the inspection survey form, in Excel.")
async def compliance_xlsx(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                          as_of: Text(40) | None = None):
    report = await _report(session, orgs, principal, org_id, as_of)
    return Response(service.as_xlsx(report),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="compliance.xlsx"'})
