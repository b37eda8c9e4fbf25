"""Budget: the finance approval queue, lines with their ledgers, editing and resubmitting a returned
line, control figures (二上二下), and the execution summary."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ConsoleApi, listed
from gateway.console.forms import BadInput, fen, whole
from gateway.console.names import named
from gateway.console.page import act, poster, render, viewer
from kernel import contracts

router = APIRouter(prefix="/console", include_in_schema=False)
# The new-line form offers office first: most lines are for it.
CATEGORIES = sorted(contracts.CATEGORIES, key=lambda category: category != "office")


@router.get("/budget")
async def lines(request: Request, status: str | None = None, fiscal_year: int | None = None,
                cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page("/api/v1/budget/lines", status=status, fiscal_year=fiscal_year,
                                            cursor=cursor)
        orgs = await api.all("/api/v1/identity/orgs") if session.may("budget_editor") else []
        names = await named(api, [line["org_id"] for line in found], known={o["id"]: o["name"] for o in orgs})
    return render(request, "budget.html", session, lines=found, next_cursor=next_cursor, orgs=orgs, names=names,
                  status_filter=status or "", categories=CATEGORIES)


@router.get("/budget/queue")
async def queue(request: Request, cursor: str | None = None):
    """Submitted lines, paged by the API's own filter: none can go missing behind a cut list."""
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page("/api/v1/budget/lines", status="submitted", cursor=cursor)
        names = await named(api, [line["org_id"] for line in found])
    return render(request, "queue.html", session, lines=found, next_cursor=next_cursor, names=names)


@router.get("/budget/lines/{line_id}")
async def line(request: Request, line_id: uuid.UUID, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        # The three reads do not depend on each other: made at once, the page costs the slowest of them.
        found, (entries, next_cursor), history = await asyncio.gather(
            api.get(f"/api/v1/budget/lines/{line_id}"),
            api.page(f"/api/v1/budget/lines/{line_id}/entries", cursor=cursor),
            api.get(f"/api/v1/budget/lines/{line_id}/history", limit=200))
        history, _ = listed(history)
        names = await named(api, [found["org_id"]], [h["actor"] for h in history])
    return render(request, "line.html", session, line=found, entries=entries, next_cursor=next_cursor,
                  history=history, names=names)


@router.post("/budget/lines")
async def create_line(request: Request):
    session, form = await poster(request)

    def body():
        made = {"org_id": form.get("org_id"), "fiscal_year": whole(form.get("fiscal_year"), minimum=2000),
                "category": form.get("category"), "title": form.get("title", ""),
                "quantity": whole(form.get("quantity"), minimum=1), "unit_price_fen": fen(form.get("unit_price_yuan"))}
        if form.get("justification"):
            made["justification"] = form["justification"]
        return made

    return await act(request, session, form, "/console/budget", "POST", "/api/v1/budget/lines", body)


@router.post("/budget/lines/{line_id}/edit")
async def edit_line(request: Request, line_id: uuid.UUID):
    """A draft line, returned or new, edited in place; resubmitting it is the submit button."""
    session, form = await poster(request)

    def body():
        made = {"title": form.get("title", ""), "quantity": whole(form.get("quantity"), minimum=1),
                "unit_price_fen": fen(form.get("unit_price_yuan"))}
        if form.get("justification"):
            made["justification"] = form["justification"]
        return made

    return await act(request, session, form, f"/console/budget/lines/{line_id}", "PATCH",
                     f"/api/v1/budget/lines/{line_id}", body)


@router.post("/budget/lines/{line_id}/{action}")
async def line_action(request: Request, line_id: uuid.UUID, action: str):
    session, form = await poster(request)

    def body():
        note = {"note": form["note"]} if form.get("note") else {}
        if action == "approve":
            return {"approved_fen": fen(form.get("amount_yuan")), **note}
        if action == "control":
            return {"control_fen": fen(form.get("amount_yuan")), **note}
        if action in ("reject", "return"):
            if not str(form.get("reason", "")).strip():
                raise BadInput("reason_needed")
            return {"reason": form["reason"]}
        return None

    if action not in ("submit", "approve", "reject", "return", "control"):
        return HTMLResponse(status_code=404)
    return await act(request, session, form, f"/console/budget/lines/{line_id}", "POST",
                     f"/api/v1/budget/lines/{line_id}/{action}", body)


@router.get("/budget/summary")
async def summary(request: Request, org_id: str | None = None, fiscal_year: int = 2026):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.get("/api/v1/budget/summary", org_id=org_id or session.me["org_id"], fiscal_year=fiscal_year)
    return render(request, "summary.html", session, summary=found, fiscal_year=fiscal_year)
