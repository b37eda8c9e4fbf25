"""The compliance report (正版化检查) at a date, with its CSV and Excel downloads (pages/downloads.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.console.api import ConsoleApi
from gateway.console.page import render, viewer, words_for

router = APIRouter(prefix="/console", include_in_schema=False)
KINDS = ("os", "office", "antivirus", "business")
CHART_TITLES = 15  # the chart shows the titles that matter most; the table below lists them all


@router.get("/compliance")
async def compliance(request: Request, org_id: str | None = None, as_of: str | None = None):
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    async with ConsoleApi(request, session) as api:
        report = await api.get("/api/v1/licenses/compliance", org_id=org_id, as_of=as_of)
        orgs = await api.all("/api/v1/identity/orgs")
        # The report names a title by vendor and name; two editions of one product ("Office 2016" Standard
        # and Professional Plus) need the edition beside it, from the catalogue.
        editions = {t["id"]: t["edition"] for t in await api.all("/api/v1/licenses/catalogue")} \
            if report.get("titles") else {}
    words = words_for(request)
    bars = [(words.category(c), report[c]["genuine"], report[c]["non_genuine"]) for c in KINDS]
    # By title, the non-genuine first (what an inspection looks for), then the most installed.
    titles = sorted(({**p, "label": " ".join(filter(None, (p["name"], editions.get(p["title_id"]))))}
                     for p in report.get("titles", [])), key=lambda p: (-p["non_genuine"], -p["installed"], p["label"]))
    chart = [(p["label"], p) for p in titles[:CHART_TITLES]]
    return render(request, "compliance.html", session, report=report, orgs=orgs, org_id=org_id, as_of=as_of or "",
                  bars=bars, kinds=KINDS, titles=titles, title_chart=chart,
                  chart_words={k: words(k) for k in ("genuine", "non_genuine", "allocated", "idle", "free")})
