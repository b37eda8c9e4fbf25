"""The home page: who is signed in, in which roles, and the user's own areas of work."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.console import navigation
from gateway.console.api import ConsoleApi
from gateway.console.names import named
from gateway.console.page import render, viewer

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/")
async def home(request: Request):
    session = viewer(request)
    todo = {}
    async with ConsoleApi(request, session) as api:
        names = await named(api, [session.me.get("org_id"), session.me.get("id")])
        # The first things waiting for this user, straight on the home page.
        if navigation.may_see(session, "queue") and session.may("finance"):
            todo["queue"], todo["queue_more"] = await api.page("/api/v1/budget/lines", status="submitted", limit=10)
        if "supplier" in session.roles:
            todo["invitations"], _ = await api.page("/api/v1/procurement/campaigns", limit=10)
    return render(request, "home.html", session, names=names, todo=todo)
