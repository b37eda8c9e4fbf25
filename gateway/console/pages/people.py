"""People: the admin's users page (search, create, roles, disable, reset password), the audit log
for admins and auditors (filters, CSV), and the password page — the only page a user who signed in
with a one-time password may open until the password is changed."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import BadInput
from gateway.console.names import named
from gateway.console.page import act, area_page, back, held_to, poster, render, store, viewer, words_for
from kernel.auth import ROLES

router = APIRouter(prefix="/console", include_in_schema=False)
USERS = "/console/users"
PASSWORD = "/console/password"
AUDIT_FILTERS = ("action", "from", "to", "actor_id")


@router.get("/password")
async def password_page(request: Request):
    session = viewer(request)
    return render(request, "password.html", session, required=bool(session.me.get("password_change")))


@router.post("/password")
async def change_password(request: Request):
    session, form = await poster(request)
    words = words_for(request)
    new = str(form.get("new_password", ""))
    if new != str(form.get("repeat_password", "")):
        session.flash = ("error", words("passwords_differ"))
        return back(PASSWORD)
    async with ConsoleApi(request, session) as api:
        try:
            await api.call("POST", "/api/v1/identity/me/password",
                           json={"old_password": form.get("old_password", ""), "new_password": new})
            if session.me.get("password_change"):
                # The one-time sign-in's token allows nothing else: sign in again with the new password.
                api.headers.pop("Authorization", None)
                token = (await api.call("POST", "/auth/token", data={"username": session.username,
                                                                     "password": new})).json()
                api.headers["Authorization"] = f"Bearer {token['access_token']}"
                me = await api.get("/api/v1/identity/me")
                store(request).end(session.id)
                fresh = store(request).create(token["access_token"], token["expires_in"], session.username, me)
                fresh.flash = ("ok", words("password_changed"))
                response = back("/console/")
                response.set_cookie("zb_console", fresh.id, httponly=True, samesite="lax",
                                    secure=request.url.scheme == "https", path="/console",
                                    max_age=token["expires_in"])
                return response
            session.flash = ("ok", words("password_changed"))
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
    return back(PASSWORD)


@router.get("/users")
async def users(request: Request, q: str | None = None, cursor: str | None = None):
    session = area_page(request, "users")
    async with ConsoleApi(request, session) as api:
        (found, next_cursor), orgs = await asyncio.gather(api.page("/api/v1/identity/users", q=q, cursor=cursor),
                                                         api.all("/api/v1/identity/orgs"))
        names = await named(api, [u["org_id"] for u in found], known={o["id"]: o["name"] for o in orgs})
    # Each row's buttons change its user and carry the version shown (its `etag`, as If-Match).
    return render(request, "users.html", session, users=found, next_cursor=next_cursor, q=q or "", orgs=orgs,
                  roles=ROLES, names=names)


@router.post("/users")
async def create_user(request: Request):
    session, form = await poster(request)
    roles = [r for r in ROLES if form.get(f"role_{r}")]

    def body():
        if not roles:
            raise BadInput("roles_needed")
        return {"username": form.get("username", ""), "password": form.get("password", ""),
                "org_id": form.get("org_id"), "roles": roles,
                **({"display_name": form["display_name"]} if form.get("display_name") else {})}

    return await act(request, session, form, USERS, "POST", "/api/v1/identity/users", body)


@router.post("/users/{user_id}/{action}")
async def change_user(request: Request, user_id: uuid.UUID, action: str):
    session, form = await poster(request)
    path = f"/api/v1/identity/users/{user_id}"
    if action in ("disable", "enable"):
        return await act(request, session, form, USERS, "PATCH", path, {"disabled": action == "disable"},
                         headers=held_to(form))
    if action == "roles":
        roles = [r for r in ROLES if form.get(f"role_{r}")]
        return await act(request, session, form, USERS, "PATCH", path, {"roles": roles}, headers=held_to(form))
    if action == "reset":
        words = words_for(request)
        async with ConsoleApi(request, session) as api:
            try:
                answer = await api.post(f"{path}/password-reset")
                # Shown once, on the next page, and not kept in the session afterwards.
                session.flash = ("ok", f"{words('temporary_password')}：{answer['temporary_password']}")
            except ApiProblem as problem:
                session.flash = ("error", words.problem(problem.body))
        return back(USERS)
    return HTMLResponse(status_code=404)


def _audit_params(request: Request) -> dict:
    return {k: request.query_params.get(k) for k in AUDIT_FILTERS if request.query_params.get(k)}


@router.get("/audit")
async def audit(request: Request, cursor: str | None = None):
    session = area_page(request, "audit")
    params = _audit_params(request)
    async with ConsoleApi(request, session) as api:
        found, next_cursor = await api.page("/api/v1/identity/audit", cursor=cursor, **params)
        names = await named(api, [e["org_id"] for e in found if e.get("org_id")])
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return render(request, "audit.html", session, entries=found, next_cursor=next_cursor, filters=params,
                  names=names, filter_query=query)
