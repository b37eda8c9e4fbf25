from __future__ import annotations

from fastapi import APIRouter

from kernel.auth import CurrentPrincipal
from kernel.bounds import FiscalYear
from kernel.deps import Orgs, Session
from services.budget import visibility
from services.budget.years import schemas, service

router = APIRouter(prefix="/api/v1/budget", tags=["fiscal years"])


@router.post("/fiscal-years/{fiscal_year}/close", response_model=schemas.YearClosed, openapi_extra=visibility.FINANCE,
             summary="Closes a fiscal year over an org subtree: closes its approved lines, releases what they "
                     "still hold, and reports what was released.")
async def close_year(fiscal_year: FiscalYear, data: schemas.YearClose, principal: CurrentPrincipal, session: Session,
                     orgs: Orgs):
    return await service.close_year(session, orgs, principal, fiscal_year, data)
