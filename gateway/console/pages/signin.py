"""Signing in and out, and the language switch."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Request

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import console_path
from gateway.console.page import (
    COOKIE,
    LANG,
    LOGIN_CSRF,
    PASSWORD_PAGE,
    back,
    checked_form,
    forbidden_form,
    render,
    secure,
    signed_in,
    store,
    words_for,
)
from gateway.console.pages.sso import configured
from gateway.models import Org

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login")
async def login_page(request: Request, next: str = "/console/"):
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, next=console_path(next), login_csrf=token,
                      sso=configured(request.app.state.settings))
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", secure=secure(request),
                        path="/console")
    return response


@router.post("/login")
async def login(request: Request):
    form = dict(await request.form())
    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not secrets.compare_digest(str(form.get("csrf", "")), cookie):
        return forbidden_form(request)
    words = words_for(request)
    async with ConsoleApi(request, None) as api:
        try:
            token = (await api.call("POST", "/auth/token", data={"username": form.get("username", ""),
                                                                   "password": form.get("password", "")})).json()
            api.headers["Authorization"] = f"Bearer {token['access_token']}"
            me = await signed_in_as(api, form.get("username", ""))
        except ApiProblem as problem:
            message = words("bad_login") if problem.status == 401 else words.problem(problem.body)
            new_token = secrets.token_urlsafe(24)
            response = render(request, "login.html", None, status=401, flash=("error", message),
                              next=console_path(form.get("next")), login_csrf=new_token,
                              sso=configured(request.app.state.settings))
            response.set_cookie(LOGIN_CSRF, new_token, httponly=True, samesite="strict", secure=secure(request),
                                path="/console")
            return response
    session = store(request).create(token["access_token"], token["expires_in"], form["username"], me)
    response = back(PASSWORD_PAGE if me.get("password_change") else console_path(form.get("next")))
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax", secure=secure(request), path="/console",
                        max_age=token["expires_in"])
    response.delete_cookie(LOGIN_CSRF, path="/console")
    return response


async def signed_in_as(api: ConsoleApi, username: str) -> dict:
    """Who signed in; after a one-time password, only that a new password must be chosen."""
    try:
        return await api.get("/api/v1/identity/me")
    except ApiProblem as problem:
        if problem.status == 403 and str(problem.body.get("type", "")).endswith("/password-change-required"):
            return {"username": username, "roles": [], "password_change": True}
        raise


@router.post("/logout")
async def logout(request: Request):
    session = signed_in(request)
    if session is not None:
        if await checked_form(request, session) is None:
            return forbidden_form(request)
        store(request).end(session.id)
        await record_sign_out(request, session)
    response = back("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


async def record_sign_out(request: Request, session) -> None:
    """The audit log's sign-out entry, under the user's org (read again: the session keeps its id only)."""
    org_id = uuid.UUID(session.me["org_id"])
    async with request.app.state.db.session() as db_session:
        org = await db_session.get(Org, org_id)
    request.app.state.audit.record("sign_out", scope=request.scope, actor_id=uuid.UUID(session.me["id"]),
                                   actor_name=session.username, org_id=org_id,
                                   org_path=org.path if org else None, status=303)


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str, next: str = "/console/"):
    response = back(console_path(next))
    response.set_cookie(LANG, "en" if lang == "en" else "zh-CN", samesite="lax", path="/console",
                        max_age=365 * 86400)
    return response
