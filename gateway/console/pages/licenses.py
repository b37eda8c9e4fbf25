"""Licenses: pools with their allocations, allocating and reclaiming seats, transfers between orgs,
devices and reclaim runs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import BadInput, console_path, whole
from gateway.console.names import named
from gateway.console.page import act, back, held_to, poster, render, viewer, words_for

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/licenses"
DEVICE_PAGES = 5


@router.get("/pools")
async def pools(request: Request, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/pools", cursor=cursor)
        names = await named(api, [p["org_id"] for p in found])
    return render(request, "pools.html", session, pools=found, next_cursor=next_cursor, names=names)


@router.get("/pools/{pool_id}")
async def pool(request: Request, pool_id: uuid.UUID, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, tag = await api.read(f"{API}/pools/{pool_id}")
        allocations, next_cursor = await api.page(f"{API}/allocations", pool_id=str(pool_id), status="active",
                                                  cursor=cursor)
        orgs = await api.all("/api/v1/identity/orgs") if session.may("it_admin") else []
        # A seat goes only to a registered, live device: the form offers the org's, by asset tag.
        assignable = (await api.page(f"{API}/devices", org_id=found["org_id"], status="active", limit=200))[0] \
            if session.may("it_admin") else []
        devices = await asset_tags(api, found["org_id"],
                                   {a["assignee_id"] for a in allocations if a["assignee_type"] == "device"})
        names = await named(api, [found["org_id"]], [a["assignee_id"] for a in allocations
                                                      if a["assignee_type"] == "user"],
                            known={o["id"]: o["name"] for o in orgs})
    words = words_for(request)

    def holder(allocation: dict) -> str:
        """Who holds a seat, as a person reads it: a device's asset tag, a user's name, or the label
        the seat was given when it names no registered device."""
        held_by = allocation["assignee_id"]
        if held_by in devices:
            return devices[held_by]
        if allocation["assignee_type"] == "user":
            return names(held_by)
        return words("device") if _is_id(held_by) else held_by

    holders = {a["id"]: holder(a) for a in allocations}
    return render(request, "pool.html", session, pool=found, allocations=allocations, next_cursor=next_cursor,
                  orgs=orgs, names=names, holders=holders, etag=tag,
                  assignable=sorted(assignable, key=lambda d: d["asset_tag"]))


async def asset_tags(api: ConsoleApi, org_id: str, wanted: set[str]) -> dict[str, str]:
    """Devices as people name them (id → asset tag), from the org's devices: a few pages of 200 at most
    (the devices API has no look-up by ids); a device beyond them stays unnamed and reads "device"."""
    tags: dict[str, str] = {}
    cursor = None
    for _ in range(DEVICE_PAGES):
        if not wanted - set(tags):
            break
        page, cursor = await api.page(f"{API}/devices", org_id=org_id, cursor=cursor, limit=200)
        tags |= {d["id"]: d["asset_tag"] for d in page if d["id"] in wanted}
        if not cursor:
            break
    return tags


def _is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@router.post("/pools/{pool_id}/allocate")
async def allocate(request: Request, pool_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, form, f"/console/pools/{pool_id}", "POST",
                     f"{API}/pools/{pool_id}/allocations",
                     {"assignee_type": "device", "assignee_id": form.get("assignee_id", "")})


@router.post("/pools/{pool_id}/threshold")
async def set_threshold(request: Request, pool_id: uuid.UUID):
    """The pool's low-seat threshold (licenses.pool.low fires below it); blank: none."""
    session, form = await poster(request)
    typed = str(form.get("low_threshold") or "").strip()
    return await act(request, session, form, f"/console/pools/{pool_id}", "PUT", f"{API}/pools/{pool_id}",
                     lambda: {"low_threshold": whole(typed) if typed else None}, headers=held_to(form))


@router.post("/allocations/{allocation_id}/reclaim")
async def reclaim(request: Request, allocation_id: uuid.UUID):
    session, form = await poster(request)
    # Back to the page the form came from, if it is one of the console's; never anywhere else.
    return await act(request, session, form, console_path(form.get("back"), "/console/pools"), "POST",
                     f"{API}/allocations/{allocation_id}/reclaim", {"reason": form.get("reason", "")})


@router.post("/transfers")
async def transfer(request: Request):
    session, form = await poster(request)
    try:
        source = str(uuid.UUID(str(form.get("from_pool_id", ""))))
    except ValueError:
        return back("/console/pools")
    return await act(request, session, form, f"/console/pools/{source}", "POST", f"{API}/transfers", lambda: {
        "from_pool_id": source, "to_org_id": form.get("to_org_id"), "seats": whole(form.get("seats"), minimum=1),
        "reason": form.get("reason", "")})


@router.get("/devices")
async def devices(request: Request, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/devices", cursor=cursor)
        names = await named(api, [d["org_id"] for d in found])
    return render(request, "devices.html", session, devices=found, next_cursor=next_cursor, names=names, run=None)


@router.post("/reclaim-runs")
async def reclaim_run(request: Request):
    session, form = await poster(request)
    words = words_for(request)
    async with ConsoleApi(request, session) as api:
        try:
            run = await api.post(f"{API}/reclaim-runs", {
                "org_id": form.get("org_id") or session.me["org_id"],
                "inactive_days": whole(form.get("inactive_days") or 0),
                "max_seats": whole(form.get("max_seats") or 1, minimum=1), "dry_run": form.get("dry_run") == "on"},
                headers={"Idempotency-Key": str(form.get("form_key") or uuid.uuid4())})
        except BadInput as bad:
            session.flash = ("error", words(bad.key))
            return back("/console/devices")
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
            return back("/console/devices")
        found, next_cursor = await api.page(f"{API}/devices")
        tags = {d["id"]: d["asset_tag"] for d in found}
        names = await named(api, [d["org_id"] for d in found])
    return render(request, "devices.html", session, devices=found, next_cursor=next_cursor, names=names, run=run,
                  tags=tags)
