"""Oversight (issue #30): a staff member's "request software" and the IT admin's request queue; the
annual report (snapshot preview, submit, the children's status, the roll-up with a chart); the
findings board (open, due soon, overdue) for auditors and IT admins."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import BadInput
from gateway.console.i18n import CHINA
from gateway.console.names import named
from gateway.console.page import act, poster, render, viewer, words_for

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/licenses"
REQUESTS, REPORTS, FINDINGS = "/console/install-requests", "/console/annual-reports", "/console/findings"
KINDS = ("os", "office", "antivirus", "business")
DUE_SOON_DAYS = 7  # SPEC Operations: a finding due within 7 days is worth a reminder


def today() -> date:
    return datetime.now(CHINA).date()


def is_auditor(session) -> bool:
    """Findings are an auditor's one write (SPEC Identity), so its buttons follow the role itself."""
    return bool({"auditor", "admin"} & session.roles)


async def titles_named(api: ConsoleApi, ids) -> dict[str, dict]:
    """The catalogue titles of `ids`, by id (one read each, all at once; a page shows a few)."""
    wanted = sorted({i for i in ids if i})

    async def one(title_id: str):
        try:
            return await api.get(f"{API}/catalogue/{title_id}")
        except ApiProblem:
            return None

    return {t["id"]: t for t in await asyncio.gather(*(one(i) for i in wanted)) if t}


@router.get("/install-requests")
async def install_requests(request: Request, status: str | None = None, cursor: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page(f"{API}/install-requests", status=status, cursor=cursor)
        # Staff read the computers registered to them; IT admins their subtree's.
        devices = {d["id"]: d for d in await api.all(f"{API}/devices", status="active")}
        asking = session.may("staff", "it_admin")
        catalogue = (await api.page(f"{API}/catalogue", limit=200))[0] if asking else []
        titles = await titles_named(api, [r["title_id"] for r in found])
        deciding = session.may("it_admin")
        pools = await api.all(f"{API}/pools") if deciding else []
        names = await named(api, [r["org_id"] for r in found], [r["requested_by"] for r in found],
                            [r["decided_by"] for r in found if r.get("decided_by")])
    return render(request, "install_requests.html", session, requests=found, next_cursor=next_cursor,
                  devices=devices, titles=titles, catalogue=sorted(catalogue, key=lambda t: (t["category"], t["name"])),
                  pools=pools, names=names, status_filter=status or "", deciding=deciding, asking=asking)


@router.post("/install-requests")
async def ask_for_install(request: Request):
    session, form = await poster(request)

    def body():
        if not str(form.get("reason", "")).strip():
            raise BadInput("reason_needed")
        return {"device_id": form.get("device_id"), "title_id": form.get("title_id"),
                "kind": form.get("kind") or "install", "reason": form["reason"]}

    return await act(request, session, form, REQUESTS, "POST", f"{API}/install-requests", body)


@router.post("/install-requests/{request_id}/{action}")
async def decide_install(request: Request, request_id: uuid.UUID, action: str):
    session, form = await poster(request)
    if action not in ("approve", "reject"):
        return HTMLResponse(status_code=404)

    def body():
        if action == "approve":
            return {"pool_id": form.get("pool_id")}
        if not str(form.get("reason", "")).strip():
            raise BadInput("reason_needed")
        return {"reason": form["reason"]}

    return await act(request, session, form, REQUESTS, "POST", f"{API}/install-requests/{request_id}/{action}", body)


@router.get("/annual-reports")
async def annual_reports(request: Request, org_id: str | None = None, year: int | None = None,
                         cursor: str | None = None):
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    year = year or today().year
    async with ConsoleApi(request, session) as api:
        statuses, rollup, orgs = await asyncio.gather(
            api.get(f"{API}/annual-reports", org_id=org_id, year=year, cursor=cursor),
            api.get(f"{API}/annual-reports/rollup", org_id=org_id, year=year),
            api.all("/api/v1/identity/orgs"))
    words = words_for(request)
    bars = [(words.category(c), rollup[c]["genuine"], rollup[c]["non_genuine"]) for c in KINDS]
    return render(request, "annual_reports.html", session, statuses=statuses, rollup=rollup, orgs=orgs, org_id=org_id,
                  year=year, bars=bars, kinds=KINDS, report=statuses["report"])


@router.post("/annual-reports")
async def draft_report(request: Request):
    session, form = await poster(request)
    here = f"{REPORTS}?org_id={form.get('org_id')}&year={form.get('year')}"

    def body():
        for field in ("responsible_person", "phone"):
            if not str(form.get(field, "")).strip():
                raise BadInput(f"{field}_needed")
        return {"org_id": form.get("org_id"), "year": int(form.get("year") or 0),
                "responsible_person": form["responsible_person"], "phone": form["phone"],
                **({"notes": form["notes"]} if str(form.get("notes", "")).strip() else {})}

    return await act(request, session, form, here, "POST", f"{API}/annual-reports", body)


@router.post("/annual-reports/{report_id}/submit")
async def submit_report(request: Request, report_id: uuid.UUID):
    session, form = await poster(request)
    here = f"{REPORTS}?org_id={form.get('org_id')}&year={form.get('year')}"
    return await act(request, session, form, here, "POST", f"{API}/annual-reports/{report_id}/submit")


@router.get("/findings")
async def findings(request: Request):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = [f for f in await api.all(f"{API}/findings") if f["status"] != "closed"]
        orgs = await api.all("/api/v1/identity/orgs") if is_auditor(session) else []
        names = await named(api, [f["org_id"] for f in found], known={o["id"]: o["name"] for o in orgs})
        devices = {d["id"]: d["asset_tag"] for d in await api.all(f"{API}/devices")}
    soon = today() + timedelta(days=DUE_SOON_DAYS)
    board = {"overdue": [f for f in found if f["overdue"]],
             "due_soon": [f for f in found if not f["overdue"] and date.fromisoformat(f["due_date"]) <= soon],
             "open_later": [f for f in found if not f["overdue"] and date.fromisoformat(f["due_date"]) > soon]}
    return render(request, "findings.html", session, board=board, orgs=orgs, names=names, devices=devices,
                  auditor=is_auditor(session), default_due=(today() + timedelta(days=30)).isoformat())


@router.post("/findings")
async def record_finding(request: Request):
    session, form = await poster(request)

    def body():
        if not str(form.get("description", "")).strip():
            raise BadInput("description_needed")
        return {"org_id": form.get("org_id"), "description": form["description"], "due_date": form.get("due_date")}

    return await act(request, session, form, FINDINGS, "POST", f"{API}/findings", body)


@router.post("/findings/{finding_id}/{action}")
async def change_finding(request: Request, finding_id: uuid.UUID, action: str):
    session, form = await poster(request)
    texts = {"resolve": "note", "reopen": "reason", "verify": None}
    if action not in texts:
        return HTMLResponse(status_code=404)

    def body():
        field = texts[action]
        if field is None:
            return None
        if not str(form.get(field, "")).strip():
            raise BadInput("reason_needed")
        return {field: form[field]}

    return await act(request, session, form, FINDINGS, "POST", f"{API}/findings/{finding_id}/{action}", body)
