"""Single sign-on (统一身份认证): the console signs people in through the unit's OpenID Connect
provider, with the authorization code flow and PKCE (Authlib's client), when `ZHENGBAN_OIDC_ISSUER`,
`…_CLIENT_ID` and `…_CLIENT_SECRET` are set.

The person is the Zhengban user whose username equals the ID token's claim named by
`ZHENGBAN_OIDC_USERNAME_CLAIM`; an unknown or disabled user is refused. The flow's `state`, `nonce`
and PKCE verifier wait on the server (in the console's session store, for ten minutes) under a random
id the browser holds in an HttpOnly cookie, and are used once: a callback with another `state`, or
the same callback again (a replayed code), finds nothing and is refused.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.console.forms import console_path
from gateway.console.page import COOKIE, PASSWORD_PAGE, back, render, secure, store, words_for
from gateway.identity import service as identity
from gateway.models import Org

log = logging.getLogger("zhengban.gateway.sso")
router = APIRouter(prefix="/console", include_in_schema=False)
FLOW_COOKIE = "zb_oidc"
FLOW_SECONDS = 600
CALLBACK = "/console/sso/callback"


def configured(settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


async def provider(settings) -> dict:
    """The provider's metadata (OpenID Connect Discovery), read on each sign-in: a sign-in is rare,
    and a provider that rotates its endpoints or keys is followed without a restart."""
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration")
        resp.raise_for_status()
        return resp.json()


def client_for(settings, request: Request) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(settings.oidc_client_id, settings.oidc_client_secret, scope="openid profile email",
                             redirect_uri=str(request.base_url).rstrip("/") + CALLBACK,
                             code_challenge_method="S256", timeout=10)


def _flow_key(flow_id: str) -> str:
    return "oidc-" + hashlib.sha256(flow_id.encode()).hexdigest()[:59]


def refused(request: Request, reason: str, status: int = 401) -> Response:
    request.app.state.audit.record("sign_in_failed", scope=request.scope, status=status,
                                   detail={"reason": reason, "sso": True})
    words = words_for(request)
    response = render(request, "login.html", None, status=status, flash=("error", words("sso_refused")),
                      next="/console/", login_csrf="", sso=configured(request.app.state.settings))
    response.delete_cookie(FLOW_COOKIE, path="/console")
    return response


@router.get("/sso")
async def start(request: Request, next: str = "/console/"):
    settings = request.app.state.settings
    if not configured(settings):
        return HTMLResponse(status_code=404)
    metadata = await provider(settings)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    async with client_for(settings, request) as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                                 code_verifier=verifier, nonce=nonce)
    flow_id = secrets.token_urlsafe(32)
    await request.app.state.console_store.save(
        _flow_key(flow_id), {"state": state, "nonce": nonce, "verifier": verifier, "next": console_path(next)},
        time.time() + FLOW_SECONDS)
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a top-level GET from its own site.
    response.set_cookie(FLOW_COOKIE, flow_id, httponly=True, samesite="lax", secure=secure(request),
                        path="/console", max_age=FLOW_SECONDS)
    return response


@router.get("/sso/callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = ""):
    settings, sessions = request.app.state.settings, request.app.state.console_store
    if not configured(settings):
        return HTMLResponse(status_code=404)
    flow_id = request.cookies.get(FLOW_COOKIE, "")
    flow = await sessions.load(_flow_key(flow_id)) if flow_id else None
    if flow is not None:
        await sessions.delete(_flow_key(flow_id))  # used once, whatever comes of it
    if flow is None or not secrets.compare_digest(state.encode(), str(flow["state"]).encode()):
        return refused(request, "wrong_state", 400)
    if error or not code:
        return refused(request, f"provider: {error or 'no code'}"[:100])
    try:
        metadata = await provider(settings)
        async with client_for(settings, request) as client:
            tokens = await client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=flow["verifier"])
        async with httpx.AsyncClient(timeout=10) as http:
            keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
        claims = jwt.decode(tokens["id_token"], keys).claims
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": metadata["issuer"]},
                              aud={"essential": True, "value": settings.oidc_client_id},
                              nonce={"essential": True, "value": flow["nonce"]},
                              exp={"essential": True}).validate(claims)
    except (httpx.HTTPError, AuthlibBaseError, JoseError, KeyError, ValueError) as exc:
        # A replayed or forged code, a token the provider did not sign: no sign-in.
        log.warning("single sign-on refused: %s", exc)
        return refused(request, "provider_refused")
    username = str(claims.get(settings.oidc_username_claim) or "")
    async with request.app.state.db.session() as session:
        user = await identity.user_for_single_sign_on(session, username)
        org = await session.get(Org, user.org_id) if user else None
    if user is None or org is None or user.disabled:
        return refused(request, "disabled" if user is not None and user.disabled else "unknown_user")
    token, ttl = request.app.state.signer.mint(subject=user.id, org_id=org.id, org_path=org.path, roles=user.roles,
                                               kind="user", name=user.username)
    request.app.state.audit.record("sign_in", scope=request.scope, actor_id=user.id, actor_name=user.username,
                                   org_id=org.id, org_path=org.path, status=303, detail={"sso": True})
    me = {"id": str(user.id), "username": user.username, "org_id": str(org.id), "roles": sorted(user.roles)}
    console = store(request).create(token, ttl, user.username, me)
    response = back(PASSWORD_PAGE if user.must_change_password else flow["next"])
    response.set_cookie(COOKIE, console.id, httponly=True, samesite="lax", secure=secure(request), path="/console",
                        max_age=ttl)
    response.delete_cookie(FLOW_COOKIE, path="/console")
    return response
