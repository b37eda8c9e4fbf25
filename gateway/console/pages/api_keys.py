"""API keys in the console (admins): the live keys with their expiry and last use, a new key with an
expiry (the key itself is on the answer page only, this once: it is not kept in the session), and
revoking one, which takes effect at once."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.forms import BadInput, day_end, form_key
from gateway.console.names import named
from gateway.console.page import act, area_page, back, poster, render, words_for
from gateway.console.sessions import ConsoleSession
from kernel.auth import ROLES

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/identity/api-keys"
KEYS = "/console/api-keys"


async def _page(request: Request, session: ConsoleSession, api: ConsoleApi, cursor: str | None = None,
                created: dict | None = None):
    (keys, next_cursor), orgs = await asyncio.gather(api.page(API, cursor=cursor),
                                                     api.all("/api/v1/identity/orgs"))
    names = await named(api, [k["org_id"] for k in keys], [k["created_by"] for k in keys],
                        known={o["id"]: o["name"] for o in orgs})
    return render(request, "api_keys.html", session, keys=keys, next_cursor=next_cursor, orgs=orgs, names=names,
                  roles=ROLES, created=created)


@router.get("/api-keys")
async def api_keys(request: Request, cursor: str | None = None):
    session = area_page(request, "api_keys")
    async with ConsoleApi(request, session) as api:
        return await _page(request, session, api, cursor)


@router.post("/api-keys")
async def create_api_key(request: Request):
    session, form = await poster(request)
    words = words_for(request)
    roles = [r for r in ROLES if form.get(f"role_{r}")]
    try:
        if not roles:
            raise BadInput("roles_needed")
        body = {"name": str(form.get("name", "")).strip(), "org_id": form.get("org_id"), "roles": roles,
                "expires_at": day_end(form.get("expires_on"))}
    except BadInput as bad:
        session.flash = ("error", words(bad.key))
        return back(KEYS)
    async with ConsoleApi(request, session) as api:
        try:
            created = await api.post(API, body, headers={"Idempotency-Key": form_key(form)})
        except ApiProblem as problem:
            session.flash = ("error", words.problem(problem.body))
            return back(KEYS)
        # The key is shown on this answer only: never redirected through the session store.
        return await _page(request, session, api, created=created)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(request: Request, key_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, form, KEYS, "DELETE", f"{API}/{key_id}")
