"""The web console at /console/: server-rendered pages over the public API (see docs/console.md).

Every page reads, and every button acts, through `ConsoleApi` with the signed-in user's token;
this module holds no business rule. It only decides what to show, and shows the API's problems
as sentences."""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.console import charts
from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.i18n import Words, china_time, choose_language, yuan
from gateway.console.sessions import ConsoleSession, SessionStore

COOKIE, LOGIN_CSRF, LANG = "zb_console", "zb_login_csrf", "zb_lang"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["yuan"] = yuan
templates.env.filters["china_time"] = china_time
router = APIRouter(prefix="/console", include_in_schema=False)


def store(request: Request) -> SessionStore:
    state = request.app.state
    if not hasattr(state, "console_sessions"):
        state.console_sessions = SessionStore()
    return state.console_sessions


def secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy the scheme arrives in X-Forwarded-Proto.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def render(request: Request, name: str, session: ConsoleSession | None, status: int = 200, **context) -> Response:
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    flash = session.__dict__.pop("flash", None) if session else context.pop("flash", None)
    started = getattr(request.state, "console_started", None)
    response = templates.TemplateResponse(request, name, {
        "t": words, "lang": words.lang, "session": session, "flash": flash, "charts": charts,
        "path": request.url.path, "query": str(request.url.query), **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                                   "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
    if started:
        response.headers["Server-Timing"] = f"console;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def to_login(request: Request) -> Response:
    return RedirectResponse(f"/console/login?next={quote(str(request.url.path))}", status_code=303)


def signed_in(request: Request) -> ConsoleSession | None:
    request.state.console_started = time.perf_counter()
    return store(request).get(request.cookies.get(COOKIE))


class Refused(Exception):
    """Ends a console request early with `response` (sign in first, or a refused form)."""

    def __init__(self, response: Response):
        self.response = response


def viewer(request: Request) -> ConsoleSession:
    """The signed-in user of a page; without one, off to the sign-in form."""
    session = signed_in(request)
    if session is None:
        raise Refused(to_login(request))
    return session


async def poster(request: Request) -> tuple[ConsoleSession, dict]:
    """The signed-in user and the posted form, which must carry the session's CSRF token."""
    session = viewer(request)
    form = await checked_form(request, session)
    if form is None:
        raise Refused(forbidden_form(request))
    return session, form


def install(app) -> None:
    app.include_router(router)

    async def refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    app.add_exception_handler(Refused, refused)

    async def api_refused(request: Request, problem: ApiProblem) -> Response:
        # A page's API call was refused (not found, not in the user's subtree, invalid input): the
        # page says why, with the API's status. Forms catch their own problems and flash them.
        return render(request, "problem.html", signed_in(request), status=problem.status, problem=problem.body)

    app.add_exception_handler(ApiProblem, api_refused)


async def checked_form(request: Request, session: ConsoleSession) -> dict | None:
    """The posted form, if it carries this session's CSRF token; None otherwise."""
    form = dict(await request.form())
    if not secrets.compare_digest(str(form.pop("csrf", "")), session.csrf):
        return None
    return form


def forbidden_form(request: Request) -> Response:
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    return HTMLResponse(f"<!doctype html><html lang=\"{words.lang}\"><title>403</title><h1>403</h1>"
                        f"<p role=\"alert\">{words('csrf')}</p></html>", status_code=403)


def back(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


async def act(request: Request, session: ConsoleSession, to: str, method: str, path: str, body=None) -> Response:
    """Does one API call for a button; on a problem, goes back with the problem as a sentence."""
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    async with ConsoleApi(request, session) as api:
        try:
            await api.call(method, path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            session.flash = ("ok", words("done"))
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
    return back(to)


# --- signing in and out ---------------------------------------------------------------------

@router.get("/login")
async def login_page(request: Request, next: str = "/console/"):
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, next=next if next.startswith("/console") else "/console/",
                      login_csrf=token)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", secure=secure(request),
                        path="/console")
    return response


@router.post("/login")
async def login(request: Request):
    form = dict(await request.form())
    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not secrets.compare_digest(str(form.get("csrf", "")), cookie):
        return forbidden_form(request)
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    async with ConsoleApi(request, None) as api:
        try:
            token = (await api.call("POST", "/auth/token", data={"username": form.get("username", ""),
                                                                   "password": form.get("password", "")})).json()
            api.headers["Authorization"] = f"Bearer {token['access_token']}"
            me = await api.get("/api/v1/identity/me")
        except ApiProblem as problem:
            message = words("bad_login") if problem.status == 401 else words.problem(problem.body)
            new_token = secrets.token_urlsafe(24)
            response = render(request, "login.html", None, status=401, flash=("error", message),
                              next=form.get("next", "/console/"), login_csrf=new_token)
            response.set_cookie(LOGIN_CSRF, new_token, httponly=True, samesite="strict", secure=secure(request),
                                path="/console")
            return response
    session = store(request).create(token["access_token"], token["expires_in"], form["username"], me)
    next_page = str(form.get("next") or "/console/")
    response = back(next_page if next_page.startswith("/console") else "/console/")
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax", secure=secure(request), path="/console",
                        max_age=token["expires_in"])
    response.delete_cookie(LOGIN_CSRF, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request):
    session = signed_in(request)
    if session is not None:
        if await checked_form(request, session) is None:
            return forbidden_form(request)
        store(request).end(session.id)
    response = back("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str, next: str = "/console/"):
    response = back(next if next.startswith("/console") else "/console/")
    response.set_cookie(LANG, "en" if lang == "en" else "zh-CN", samesite="lax", path="/console",
                        max_age=365 * 86400)
    return response


@router.get("/")
async def home(request: Request):
    session = viewer(request)
    return render(request, "home.html", session)


# --- budget ---------------------------------------------------------------------------------

@router.get("/budget")
async def budget(request: Request, status: str | None = None):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        lines = await api.all("/api/v1/budget/lines", status=status)
        orgs = {o["id"]: o for o in await api.all("/api/v1/identity/orgs")}
    queue = [line for line in lines if line["status"] == "submitted"]
    return render(request, "budget.html", session, lines=lines, queue=queue, orgs=orgs)


@router.get("/budget/lines/{line_id}")
async def budget_line(request: Request, line_id: uuid.UUID):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        line = await api.get(f"/api/v1/budget/lines/{line_id}")
        entries = await api.all(f"/api/v1/budget/lines/{line_id}/entries")
        history = await api.get(f"/api/v1/budget/lines/{line_id}/history")
    return render(request, "line.html", session, line=line, entries=entries, history=history)


@router.post("/budget/lines")
async def create_line(request: Request):
    session, form = await poster(request)
    try:
        body = {"org_id": form["org_id"], "fiscal_year": int(form["fiscal_year"]), "category": form["category"],
                "title": form["title"], "quantity": int(form["quantity"]),
                "unit_price_fen": round(float(form["unit_price_yuan"]) * 100)}
    except (KeyError, ValueError):
        body = {}
    if form.get("justification"):
        body["justification"] = form["justification"]
    return await act(request, session, "/console/budget", "POST", "/api/v1/budget/lines", body)


@router.post("/budget/lines/{line_id}/{action}")
async def line_action(request: Request, line_id: uuid.UUID, action: str):
    session, form = await poster(request)
    body = None
    if action == "approve":
        try:
            body = {"approved_fen": round(float(form.get("amount_yuan", "")) * 100)}
        except ValueError:
            body = {}
        if form.get("note"):
            body["note"] = form["note"]
    elif action in ("reject", "return"):
        body = {"reason": form.get("reason", "")}
    elif action != "submit":
        return HTMLResponse(status_code=404)
    return await act(request, session, f"/console/budget/lines/{line_id}", "POST",
                     f"/api/v1/budget/lines/{line_id}/{action}", body)


@router.get("/budget/summary")
async def budget_summary(request: Request, org_id: str | None = None, fiscal_year: int = 2026):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        summary = await api.get("/api/v1/budget/summary", org_id=org_id or session.me["org_id"],
                                fiscal_year=fiscal_year)
    return render(request, "summary.html", session, summary=summary, fiscal_year=fiscal_year)


# --- procurement ----------------------------------------------------------------------------

@router.get("/campaigns")
async def campaigns(request: Request):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.all("/api/v1/procurement/campaigns")
        orders = await api.all("/api/v1/procurement/orders")
    return render(request, "campaigns.html", session, campaigns=found, orders=orders)


@router.get("/campaigns/{campaign_id}")
async def campaign(request: Request, campaign_id: uuid.UUID):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.get(f"/api/v1/procurement/campaigns/{campaign_id}")
        offers = await api.get(f"/api/v1/procurement/campaigns/{campaign_id}/offers")
        history = await api.get(f"/api/v1/procurement/campaigns/{campaign_id}/history")
    invited = session.me["org_id"] in found["supplier_org_ids"]
    return render(request, "campaign.html", session, campaign=found, offers=offers, history=history,
                  can_offer=invited and "supplier" in session.roles and found["round_open"])


@router.post("/campaigns/{campaign_id}/offers")
async def send_offer(request: Request, campaign_id: uuid.UUID):
    session, form = await poster(request)
    items = []
    for key, value in form.items():
        if key.startswith("price_") and value:
            try:
                items.append({"item_id": key.removeprefix("price_"), "unit_price_fen": round(float(value) * 100)})
            except ValueError:
                items.append({"item_id": key.removeprefix("price_"), "unit_price_fen": -1})
    return await act(request, session, f"/console/campaigns/{campaign_id}", "POST",
                     f"/api/v1/procurement/campaigns/{campaign_id}/offers", {"items": items})


# --- licenses -------------------------------------------------------------------------------

@router.get("/pools")
async def pools(request: Request):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.all("/api/v1/licenses/pools")
        orgs = {o["id"]: o for o in await api.all("/api/v1/identity/orgs")}
    return render(request, "pools.html", session, pools=found, orgs=orgs)


@router.get("/pools/{pool_id}")
async def pool(request: Request, pool_id: uuid.UUID):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.get(f"/api/v1/licenses/pools/{pool_id}")
        allocations = await api.all("/api/v1/licenses/allocations", pool_id=str(pool_id), status="active")
        orgs = {o["id"]: o for o in await api.all("/api/v1/identity/orgs")}
    return render(request, "pool.html", session, pool=found, allocations=allocations, orgs=orgs)


@router.post("/pools/{pool_id}/allocate")
async def allocate(request: Request, pool_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, f"/console/pools/{pool_id}", "POST",
                     f"/api/v1/licenses/pools/{pool_id}/allocations",
                     {"assignee_type": form.get("assignee_type", "device"), "assignee_id": form.get("assignee_id", "")})


@router.post("/allocations/{allocation_id}/reclaim")
async def reclaim(request: Request, allocation_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, str(form.get("back") or "/console/pools"), "POST",
                     f"/api/v1/licenses/allocations/{allocation_id}/reclaim", {"reason": form.get("reason", "")})


@router.post("/transfers")
async def transfer(request: Request):
    session, form = await poster(request)
    try:
        seats = int(form.get("seats", ""))
    except ValueError:
        seats = 0
    return await act(request, session, f"/console/pools/{form.get('from_pool_id')}", "POST",
                     "/api/v1/licenses/transfers", {"from_pool_id": form.get("from_pool_id"),
                                                    "to_org_id": form.get("to_org_id"), "seats": seats,
                                                    "reason": form.get("reason", "")})


@router.get("/devices")
async def devices(request: Request):
    session = viewer(request)
    async with ConsoleApi(request, session) as api:
        found = await api.all("/api/v1/licenses/devices")
    return render(request, "devices.html", session, devices=found, run=None)


@router.post("/reclaim-runs")
async def reclaim_run(request: Request):
    session, form = await poster(request)
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    async with ConsoleApi(request, session) as api:
        try:
            run = await api.post("/api/v1/licenses/reclaim-runs", {
                "org_id": form.get("org_id") or session.me["org_id"],
                "inactive_days": int(form.get("inactive_days") or 0),
                "max_seats": int(form.get("max_seats") or 1), "dry_run": form.get("dry_run") == "on"})
        except (ApiProblem, ValueError) as problem:
            body = problem.body if isinstance(problem, ApiProblem) else {"type": "validation-error"}
            session.flash = ("error", words.problem(body))
            return back("/console/devices")
        found = await api.all("/api/v1/licenses/devices")
    return render(request, "devices.html", session, devices=found, run=run)


@router.get("/compliance")
async def compliance(request: Request, org_id: str | None = None, as_of: str | None = None):
    session = viewer(request)
    org_id = org_id or session.me["org_id"]
    async with ConsoleApi(request, session) as api:
        report = await api.get("/api/v1/licenses/compliance", org_id=org_id, as_of=as_of)
        orgs = await api.all("/api/v1/identity/orgs")
    words = Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))
    bars = [(words.category(c), report[c]["genuine"], report[c]["non_genuine"])
            for c in ("os", "office", "antivirus", "business")]
    return render(request, "compliance.html", session, report=report, orgs=orgs, org_id=org_id, as_of=as_of or "",
                  bars=bars)


@router.get("/compliance.{fmt}")
async def compliance_download(request: Request, fmt: str, org_id: str, as_of: str | None = None):
    session = viewer(request)
    if fmt not in ("csv", "xlsx"):
        return HTMLResponse(status_code=404)
    async with ConsoleApi(request, session) as api:
        resp = await api.call("GET", f"/api/v1/licenses/compliance.{fmt}",
                              params={"org_id": org_id, **({"as_of": as_of} if as_of else {})})
    return Response(resp.content, media_type=resp.headers["content-type"],
                    headers={"Content-Disposition": resp.headers.get("content-disposition", "attachment")})
