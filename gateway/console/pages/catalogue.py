"""Inspection (核查): the software catalogue with its patterns, the queue of raw names no title
recognizes (a name mapped to a title in one action), and the import of a detection tool's export."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.files import send, uploaded
from gateway.console.forms import BadInput, console_path
from gateway.console.names import named
from gateway.console.page import act, back, poster, render, viewer, words_for
from gateway.console.pages.licenses import asset_tags
from kernel.contracts import CATEGORIES
from kernel.software_names import closest, exact_pattern

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/licenses"
LICENSING = ("commercial", "free", "personal_free", "bundled")


@router.get("/catalogue")
async def catalogue(request: Request, q: str | None = None, category: str | None = None, cursor: str | None = None,
                    map_name: str | None = None, map_vendor: str | None = None, org_id: str | None = None):
    """The catalogue, searched by words of vendor or name and by category. With `map_name` it is the
    second step of mapping an unrecognized name whose hints missed: each title offers "this one"."""
    session = viewer(request)
    category = category if category in CATEGORIES else None
    async with ConsoleApi(request, session) as api:
        titles, next_cursor = await api.page(f"{API}/catalogue", q=q, category=category, cursor=cursor)
    params = urlencode({k: v for k, v in (("q", q), ("category", category), ("map_name", map_name),
                                         ("map_vendor", map_vendor), ("org_id", org_id)) if v})
    back_to = "/console/inventory/unrecognized" + (f"?org_id={org_id}" if org_id else "")
    return render(request, "catalogue.html", session, titles=titles, next_cursor=next_cursor, q=q or "",
                  category=category or "", categories=CATEGORIES, licensing=LICENSING, params=params,
                  map_name=map_name, map_vendor=map_vendor, back_to=back_to)


@router.post("/catalogue")
async def create_title(request: Request):
    session, form = await poster(request)

    def body() -> dict:
        pattern = str(form.get("pattern") or "").strip()
        return {"vendor": form.get("vendor", ""), "name": form.get("name", ""),
                "edition": str(form.get("edition") or "").strip() or None, "category": form.get("category", ""),
                "licensing": form.get("licensing", ""), "domestic": form.get("domestic") == "on",
                "patterns": [pattern] if pattern else []}

    return await act(request, session, form, "/console/catalogue?" + urlencode({"q": form.get("name", "")}),
                     "POST", f"{API}/catalogue", body)


@router.get("/catalogue/{title_id}")
async def title(request: Request, title_id: uuid.UUID, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.get(f"{API}/catalogue/{title_id}")
        history, next_cursor = await api.page(f"{API}/catalogue/{title_id}/history", cursor=cursor)
        names = await named(api, [h["actor"] for h in history])
    return render(request, "title.html", session, title=found, history=history, next_cursor=next_cursor, names=names)


@router.post("/catalogue/{title_id}/patterns")
async def add_pattern(request: Request, title_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, form, f"/console/catalogue/{title_id}", "POST",
                     f"{API}/catalogue/{title_id}/patterns", {"pattern": form.get("pattern", "")})


@router.get("/inventory/unrecognized")
async def unrecognized(request: Request, org_id: str | None = None, cursor: str | None = None):
    """The raw names no title recognizes, most devices first, each with the titles its name is closest
    to: picking one adds the name's own pattern to it (SPEC: a new pattern re-recognizes within a minute)."""
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    async with ConsoleApi(request, session) as api:
        queue, next_cursor = await api.page(f"{API}/inventory/unrecognized", org_id=org_id, cursor=cursor)
        orgs = await api.all("/api/v1/identity/orgs")
        titles = await api.all(f"{API}/catalogue") if queue and session.may("it_admin") else []
    pairs = [(t["name"], t["edition"]) for t in titles]
    hints = {(row["name"], row["vendor"]): [titles[i] for i in closest(row["name"], pairs)] for row in queue}
    return render(request, "unrecognized.html", session, queue=queue, next_cursor=next_cursor, orgs=orgs,
                  org_id=org_id, hints=hints, params=urlencode({"org_id": org_id}))


@router.post("/inventory/unrecognized/map")
async def map_name(request: Request):
    """Maps a raw name to a title: the title gains the pattern of exactly that name, as folded."""
    session, form = await poster(request)
    to = console_path(form.get("back"), "/console/inventory/unrecognized")
    try:
        title_id = uuid.UUID(str(form.get("title_id", "")))
    except ValueError:
        session.flash = ("error", words_for(request)("pick_title"))
        return back(to)
    response = await act(request, session, form, to, "POST", f"{API}/catalogue/{title_id}/patterns",
                         {"pattern": exact_pattern(str(form.get("name", "")))})
    if session.flash and session.flash[0] == "ok":
        session.flash = ("ok", words_for(request)("mapped"))
    return response


@router.get("/inventory/import")
async def import_form(request: Request):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        orgs = await api.all("/api/v1/identity/orgs")
    return render(request, "import.html", session, orgs=orgs, org_id=session.me["org_id"], result=None)


@router.post("/inventory/import")
async def import_inventory(request: Request):
    """Sends the uploaded export to the API as it came and shows its answer row by row; a file the API
    refuses whole is said in one sentence, and nothing was written."""
    session, form = await poster(request)
    words = words_for(request)
    org_id = str(form.get("org_id") or session.me["org_id"])
    async with ConsoleApi(request, session) as api:
        orgs = await api.all("/api/v1/identity/orgs")
        try:
            upload = await uploaded(form)
            answer = (await send(api, f"{API}/inventory:import", upload, org_id=org_id)).json()
        except BadInput as bad:
            session.flash = ("error", words(bad.key))
            return back("/console/inventory/import")
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
            return back("/console/inventory/import")
        tags = await asset_tags(api, org_id, {r["device_id"] for r in answer["rows"] if r.get("device_id")})
    return render(request, "import.html", session, orgs=orgs, org_id=org_id, result=answer, tags=tags,
                  filename=upload.name)
