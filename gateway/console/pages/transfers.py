"""Budget transfers (调剂): the transfers of the user's subtree by line title, a budget editor's
request between two approved lines of one org, and finance's approve or reject (never the
requester's own: the API refuses that, and the page says so in words)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ConsoleApi
from gateway.console.forms import BadInput, fen
from gateway.console.names import named
from gateway.console.page import act, poster, render, viewer

router = APIRouter(prefix="/console", include_in_schema=False)
HERE = "/console/budget/transfers"


@router.get("/budget/transfers")
async def transfers(request: Request, status: str | None = None, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page("/api/v1/budget/transfers", status=status, cursor=cursor)
        # The lines a transfer may be asked between: the approved ones of the editor's own org.
        choices = await api.all("/api/v1/budget/lines", org_id=session.me.get("org_id"), status="approved") \
            if session.may("budget_editor") else []
        known = {line["id"]: line for line in choices}
        # The lines of this page by title: one read per line not already known, all at once.
        missing = sorted({t[side] for t in found for side in ("from_line_id", "to_line_id")} - set(known))
        for line in await asyncio.gather(*(api.get(f"/api/v1/budget/lines/{line_id}") for line_id in missing)):
            known[line["id"]] = line
        names = await named(api, [t["org_id"] for t in found], [t["requested_by"] for t in found],
                            [t["decided_by"] for t in found if t.get("decided_by")])
    return render(request, "transfers.html", session, transfers=found, next_cursor=next_cursor, lines=known,
                  choices=choices, names=names, status_filter=status or "")


@router.post("/budget/transfers")
async def request_transfer(request: Request):
    session, form = await poster(request)

    def body():
        if not str(form.get("reason", "")).strip():
            raise BadInput("reason_needed")
        return {"from_line_id": form.get("from_line_id"), "to_line_id": form.get("to_line_id"),
                "amount_fen": fen(form.get("amount_yuan")), "reason": form["reason"]}

    return await act(request, session, form, HERE, "POST", "/api/v1/budget/transfers", body)


@router.post("/budget/transfers/{transfer_id}/{action}")
async def decide(request: Request, transfer_id: uuid.UUID, action: str):
    session, form = await poster(request)

    def body():
        if action == "approve":
            return None
        if not str(form.get("reason", "")).strip():
            raise BadInput("reason_needed")
        return {"reason": form["reason"]}

    if action not in ("approve", "reject"):
        return HTMLResponse(status_code=404)
    return await act(request, session, form, HERE, "POST", f"/api/v1/budget/transfers/{transfer_id}/{action}", body)
