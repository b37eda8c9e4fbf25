"""The compliance report (正版化检查) at a date, with its CSV and Excel downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.console.api import ConsoleApi
from gateway.console.page import render, viewer, words_for

router = APIRouter(prefix="/console", include_in_schema=False)
KINDS = ("os", "office", "antivirus", "business")


@router.get("/compliance")
async def compliance(request: Request, org_id: str | None = None, as_of: str | None = None):
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    async with ConsoleApi(request, session) as api:
        report = await api.get("/api/v1/licenses/compliance", org_id=org_id, as_of=as_of)
        orgs = await api.all("/api/v1/identity/orgs")
    words = words_for(request)
    bars = [(words.category(c), report[c]["genuine"], report[c]["non_genuine"]) for c in KINDS]
    return render(request, "compliance.html", session, report=report, orgs=orgs, org_id=org_id, as_of=as_of or "",
                  bars=bars, kinds=KINDS)


@router.get("/compliance.{fmt}")
async def download(request: Request, fmt: str, org_id: str, as_of: str | None = None):
    session = viewer(request)
    if fmt not in ("csv", "xlsx"):
        return HTMLResponse(status_code=404)
    async with ConsoleApi(request, session) as api:
        resp = await api.call("GET", f"/api/v1/licenses/compliance.{fmt}",
                              params={"org_id": org_id, **({"as_of": as_of} if as_of else {})})
    return Response(resp.content, media_type=resp.headers["content-type"],
                    headers={"Content-Disposition": resp.headers.get("content-disposition", "attachment")})
