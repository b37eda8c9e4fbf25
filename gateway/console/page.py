"""What every console page does the same way: find the signed-in user, check a posted form, render
a template with the page's words, and turn one button into one API call."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.console import charts, navigation
from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import BadInput, console_path, form_key, new_form_key
from gateway.console.i18n import Words, china_time, choose_language, yuan
from gateway.console.import_kinds import KINDS
from gateway.console.names import Names
from gateway.console.sessions import ConsoleSession, SessionStore

COOKIE, LOGIN_CSRF, LANG = "zb_console", "zb_login_csrf", "zb_lang"
PASSWORD_PAGE = "/console/password"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["yuan"] = yuan
templates.env.filters["china_time"] = china_time
templates.env.globals["form_key"] = new_form_key
templates.env.globals["import_kinds"] = KINDS
# A link's query string from a page's filters, leaving out the ones not set.
templates.env.filters["query"] = lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
# People read names, not ids: a path in the audit log shows where an id stood.
templates.env.filters["without_ids"] = lambda path: re.sub(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "{id}", path or "")


def store(request: Request) -> SessionStore:
    # This request's sessions, loaded and written back by ConsoleSessionsMiddleware.
    return request.state.console_sessions


def secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy the scheme arrives in X-Forwarded-Proto.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def words_for(request: Request) -> Words:
    return Words(choose_language(request.cookies.get(LANG), request.headers.get("accept-language")))


def render(request: Request, name: str, session: ConsoleSession | None, status: int = 200, **context) -> Response:
    words = words_for(request)
    flash = session.__dict__.pop("flash", None) if session else context.pop("flash", None)
    started = getattr(request.state, "console_started", None)
    response = templates.TemplateResponse(request, name, {
        "t": words, "lang": words.lang, "session": session, "flash": flash, "charts": charts,
        "nav": navigation.areas_for(session) if session else [], "names": context.pop("names", Names()),
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
    if session.me.get("password_change") and request.url.path != PASSWORD_PAGE:
        # Signed in with a one-time password: the API allows nothing but choosing a new one.
        raise Refused(RedirectResponse(PASSWORD_PAGE, status_code=303))
    return session


def area_page(request: Request, key: str) -> ConsoleSession:
    """The signed-in user of a page of one navigation area (admins' and auditors' pages): others
    find nothing here, and the API would refuse their reads anyway."""
    session = viewer(request)
    if not navigation.may_see(session, key):
        raise Refused(HTMLResponse("<!doctype html><title>404</title><h1>404</h1>", status_code=404))
    return session


async def poster(request: Request) -> tuple[ConsoleSession, dict]:
    """The signed-in user and the posted form, which must carry the session's CSRF token."""
    session = viewer(request)
    form = await checked_form(request, session)
    if form is None:
        raise Refused(forbidden_form(request))
    return session, form


async def checked_form(request: Request, session: ConsoleSession) -> dict | None:
    """The posted form, if it carries this session's CSRF token; None otherwise."""
    form = dict(await request.form())
    if not secrets.compare_digest(str(form.pop("csrf", "")), session.csrf):
        return None
    return form


def forbidden_form(request: Request) -> Response:
    words = words_for(request)
    return HTMLResponse(f"<!doctype html><html lang=\"{words.lang}\"><title>403</title><h1>403</h1>"
                        f"<p role=\"alert\">{words('csrf')}</p></html>", status_code=403)


def back(to: str) -> Response:
    return RedirectResponse(console_path(to), status_code=303)


def held_to(form: dict) -> dict[str, str]:
    """The If-Match of an edit form: the ETag of the object as the page showed it (its hidden `etag`
    field), so a save over someone else's change since is refused (412) and said so, not applied."""
    return {"If-Match": str(form["etag"])} if form.get("etag") else {}


async def act(request: Request, session: ConsoleSession, form: dict, to: str, method: str, path: str,
              body=None, headers: dict[str, str] | None = None) -> Response:
    """Does one API call for a button, with the form's own Idempotency-Key (a double click is one
    action); on a problem, goes back with the problem as a sentence. `body` may be a function that
    builds the API's body from the form and raises BadInput for what a person typed wrong."""
    words = words_for(request)
    try:
        payload = body() if callable(body) else body
    except BadInput as bad:
        session.flash = ("error", words(bad.key))
        return back(to)
    async with ConsoleApi(request, session) as api:
        try:
            await api.call(method, path, json=payload, headers={"Idempotency-Key": form_key(form), **(headers or {})})
            session.flash = ("ok", words("done"))
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
    return back(to)
