"""Budget: the finance approval queue, lines with their ledgers, editing and resubmitting a returned
line, control figures (二上二下), and the execution summary."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ApiProblem, ConsoleApi, listed
from gateway.console.forms import BadInput, fen, form_key, whole
from gateway.console.names import named
from gateway.console.page import act, back, held_to, poster, render, viewer, words_for
from kernel import contracts

router = APIRouter(prefix="/console", include_in_schema=False)
# The new-line form offers office first: most lines are for it.
CATEGORIES = sorted(contracts.CATEGORIES, key=lambda category: category != "office")
EDITION_CATEGORIES = ("antivirus",)  # where the new-line form offers an edition (client or server)


@router.get("/budget")
async def lines(request: Request, status: str | None = None, fiscal_year: int | None = None,
                cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page("/api/v1/budget/lines", status=status, fiscal_year=fiscal_year,
                                            cursor=cursor)
        orgs = await api.all("/api/v1/identity/orgs") if session.may("budget_editor") or session.may("finance") else []
        names = await named(api, [line["org_id"] for line in found], known={o["id"]: o["name"] for o in orgs})
    return render(request, "budget.html", session, lines=found, next_cursor=next_cursor, orgs=orgs, names=names,
                  status_filter=status or "", fiscal_year_filter=fiscal_year, categories=CATEGORIES,
                  editions=("client", "server"))


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
        (found, tag), (entries, next_cursor), history = await asyncio.gather(
            api.read(f"/api/v1/budget/lines/{line_id}"),
            api.page(f"/api/v1/budget/lines/{line_id}/entries", cursor=cursor),
            api.get(f"/api/v1/budget/lines/{line_id}/history", limit=200))
        history, _ = listed(history)
        names = await named(api, [found["org_id"]], [h["actor"] for h in history])
    return render(request, "line.html", session, line=found, entries=entries, next_cursor=next_cursor,
                  history=history, names=names, etag=tag)


@router.post("/budget/lines")
async def create_line(request: Request):
    session, form = await poster(request)

    def body():
        made = {"org_id": form.get("org_id"), "fiscal_year": whole(form.get("fiscal_year"), minimum=2000),
                "category": form.get("category"), "title": form.get("title", ""),
                "quantity": whole(form.get("quantity"), minimum=1), "unit_price_fen": fen(form.get("unit_price_yuan"))}
        if form.get("justification"):
            made["justification"] = form["justification"]
        # The edition field is shown for the categories whose caps differ by edition only.
        if made["category"] in EDITION_CATEGORIES and form.get("edition"):
            made["edition"] = form["edition"]
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
                     f"/api/v1/budget/lines/{line_id}", body, headers=held_to(form))


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


@router.post("/budget/fiscal-years/close")
async def close_year(request: Request):
    """Finance's year-end close of a fiscal year over an org subtree: the API closes the approved
    lines and answers what it released, which this page shows as it is."""
    session, form = await poster(request)
    words = words_for(request)
    try:
        year = whole(form.get("fiscal_year"), minimum=2000)
    except BadInput as bad:
        session.flash = ("error", words(bad.key))
        return back("/console/budget")
    async with ConsoleApi(request, session) as api:
        try:
            report = (await api.call("POST", f"/api/v1/budget/fiscal-years/{year}/close",
                                     json={"org_id": form.get("org_id")},
                                     headers={"Idempotency-Key": form_key(form)})).json()
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
            return back("/console/budget")
        names = await named(api, [report["org_id"]], [line["org_id"] for line in report["lines"]])
    return render(request, "year_closed.html", session, report=report, names=names)


@router.get("/budget/policies")
async def policy(request: Request, org_id: uuid.UUID | None = None):
    """The effective policy of an org, field by field with where each value comes from; finance
    sets the org's own document (a PUT replaces it; blank fields inherit)."""
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    async with ConsoleApi(request, session) as api:
        (found, tag), orgs = await asyncio.gather(api.read(f"/api/v1/budget/policies/{org_id}"),
                                                  api.all("/api/v1/identity/orgs"))
        names = await named(api, [found["org_id"]],
                            [s["from"] for s in found["sources"].values() if s.get("from") != "default"],
                            known={o["id"]: o["name"] for o in orgs})
    # The form carries the version it shows: a save over someone else's change since is refused (412)
    # and said so, instead of overwriting it.
    return render(request, "policy.html", session, policy=found, rows=policy_rows(found), orgs=orgs, names=names,
                  categories=CATEGORIES, own=found.get("own") or {}, etag=tag)


def policy_rows(found: dict) -> list[dict]:
    """The effective policy as rows: (what, key for its words, value, kind of value, source)."""
    sources, rows = found["sources"], []

    def row(field: str, source_key: str, value, kind: str, category=None, edition=None, year=None):
        rows.append({"field": field, "value": value, "kind": kind, "source": sources.get(source_key, {}),
                     "category": category, "edition": edition, "year": year})

    for name in ("caps", "special_caps", "seats_per_device"):
        for category in CATEGORIES:
            if category in found[name]:
                row(name, f"{name}.{category}", found[name][category],
                    "count" if name == "seats_per_device" else "fen", category=category)
    for key, value in sorted(found["edition_caps"].items()):
        category, _, edition = key.partition(".")
        row("edition_caps", f"edition_caps.{key}", value, "fen", category=category, edition=edition)
    row("os_needs_justification", "os_needs_justification", found["os_needs_justification"], "bool")
    row("decentralized_threshold_fen", "decentralized_threshold_fen", found["decentralized_threshold_fen"], "fen")
    row("public_tender_threshold_fen", "public_tender_threshold_fen", found["public_tender_threshold_fen"], "fen")
    for year in found["thresholds"]:
        for tier in ("decentralized_fen", "public_tender_fen"):
            row(f"year_{tier}", f"thresholds.{year['fiscal_year']}", year[tier], "fen", year=year["fiscal_year"])
    row("standstill_days", "standstill_days", found["standstill_days"], "count")
    row("panel_min_members", "panel_min_members", found["panel_min_members"], "count")
    row("panel_odd_members", "panel_odd_members", found["panel_odd_members"], "bool")
    row("panel_max_buyer_share", "panel_max_buyer_share", found["panel_max_buyer_share"], "text")
    row("annual_report_due", "annual_report_due", found["annual_report_due"], "text")
    return rows


@router.post("/budget/policies/{org_id}")
async def set_policy(request: Request, org_id: uuid.UUID):
    session, form = await poster(request)
    words = words_for(request)
    here = f"/console/budget/policies?org_id={org_id}"
    async with ConsoleApi(request, session) as api:
        own = (await api.get(f"/api/v1/budget/policies/{org_id}")).get("own") or {}
    try:
        document = policy_document(own, form)
    except BadInput as bad:
        session.flash = ("error", words(bad.key))
        return back(here)
    return await act(request, session, form, here, "PUT", f"/api/v1/budget/policies/{org_id}", document,
                     headers=held_to(form))


def policy_document(own: dict, form: dict) -> dict:
    """The org's own document with the form's common fields put in: a field left blank is inherited
    (the key is left out) unless the document lifts that limit (null, shown as 不限), a field the
    form does not show is kept as it was."""
    document = {k: (dict(v) if isinstance(v, dict) else v) for k, v in own.items()}

    def put(name: str, key: str, value) -> None:
        mapping = document.setdefault(name, {})
        if value is None:
            if mapping.get(key, 0) is not None:  # a limit lifted (null) by the API stays lifted
                mapping.pop(key, None)
        else:
            mapping[key] = value
        if not mapping:
            document.pop(name)

    def typed(field: str, parse):
        text = str(form.get(field) or "").strip()
        return parse(text) if text else None

    for category in CATEGORIES:
        put("caps", category, typed(f"caps.{category}", fen))
        put("special_caps", category, typed(f"special_caps.{category}", fen))
        put("seats_per_device", category, typed(f"seats_per_device.{category}", lambda t: whole(t, minimum=1)))
    for edition in ("client", "server"):
        put("edition_caps", f"antivirus.{edition}", typed(f"edition_caps.antivirus.{edition}", fen))
    standstill = typed("standstill_days", whole)
    if standstill is None:
        document.pop("standstill_days", None)
    else:
        document["standstill_days"] = standstill
    years = []
    for n in range(int(form.get("threshold_rows") or 0) + 1):
        year = typed(f"thresholds.{n}.fiscal_year", lambda t: whole(t, minimum=2000))
        if year is None:
            continue
        years.append({"fiscal_year": year, "decentralized_fen": typed(f"thresholds.{n}.decentralized", fen),
                      "public_tender_fen": typed(f"thresholds.{n}.public_tender", fen)})
    if any(y["decentralized_fen"] is None or y["public_tender_fen"] is None for y in years):
        raise BadInput("bad_money")
    if years:
        document["thresholds"] = years
    else:
        document.pop("thresholds", None)
    return document


@router.get("/budget/summary")
async def summary(request: Request, org_id: str | None = None, fiscal_year: int = 2026):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.get("/api/v1/budget/summary", org_id=org_id or session.me["org_id"], fiscal_year=fiscal_year)
    return render(request, "summary.html", session, summary=found, fiscal_year=fiscal_year,
                  org_id=org_id or session.me["org_id"])
