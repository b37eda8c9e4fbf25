"""The web console at /console/: server-rendered pages over the public API (see docs/console.md).

Every page reads, and every button acts, through `ConsoleApi` with the signed-in user's token; the
console holds no business rule. The pages live in `pages/`, one module per area."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from gateway.console.api import ApiProblem
from gateway.console.page import COOKIE, Refused, render, signed_in
from gateway.console.pages import (
    api_keys,
    budget,
    catalogue,
    compliance,
    downloads,
    home,
    imports,
    licenses,
    orgs,
    oversight,
    people,
    procurement,
    signin,
    sso,
    transfers,
)
from gateway.console.sessions import ConsoleSessionsMiddleware
from kernel.routes import add_routes

PAGES = (signin, sso, home, budget, transfers, procurement, licenses, compliance, catalogue, people, orgs, api_keys,
         oversight, imports, downloads)


def install(app) -> None:
    add_routes(app, *(module.router for module in PAGES))
    app.add_middleware(ConsoleSessionsMiddleware, cookie=COOKIE)

    async def refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    app.add_exception_handler(Refused, refused)

    async def api_refused(request: Request, problem: ApiProblem) -> Response:
        # A page's API call was refused (not found, not in the user's subtree, invalid input): the
        # page says why, with the API's status. Forms catch their own problems and flash them.
        return render(request, "problem.html", signed_in(request), status=problem.status, problem=problem.body)

    app.add_exception_handler(ApiProblem, api_refused)
