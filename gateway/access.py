"""What the gateway does to every request before routing it: API keys become short-lived tokens,
identity headers from clients are dropped, and each caller is held to its rate limit (counted
where every gateway replica sees it: gateway/rate_limits.py)."""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.identity import service as identity
from kernel.auth import PasswordChangeRequired, Principal
from kernel.errors import DomainError, problem_response, rate_limit_headers

# The one call a one-time password's sign-in may make.
PASSWORD_CHANGE_PATH = "/api/v1/identity/me/password"

# Clients must not be able to claim an identity by header; only the bearer token speaks.
STRIPPED_HEADERS = {b"x-principal", b"x-org-id", b"x-org-path", b"x-roles", b"x-user-id", b"x-forwarded-user"}


class ApiKeyTokens:
    """Access tokens minted for API keys, kept for a while so each request does not sign anew.

    The key itself is still looked up on every request, so a deleted key is refused at once.
    """

    TTL = 120

    def __init__(self):
        self._tokens: dict[uuid.UUID, tuple[str, float]] = {}

    def get(self, key_id: uuid.UUID) -> str | None:
        hit = self._tokens.get(key_id)
        if hit and hit[1] > time.monotonic() + 30:
            return hit[0]
        return None

    def put(self, key_id: uuid.UUID, token: str) -> None:
        self._tokens[key_id] = (token, time.monotonic() + self.TTL)

    def forget(self, key_id: uuid.UUID) -> None:
        self._tokens.pop(key_id, None)


class AccessMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/internal/"):
            # /internal answers only to the shared internal token, checked by its own route.
            return await self.app(scope, receive, send)
        state = scope["app"].state
        headers = [(k, v) for k, v in scope["headers"] if k not in STRIPPED_HEADERS]
        auth = dict(headers).get(b"authorization", b"").decode()
        scheme, _, credential = auth.partition(" ")
        caller = None
        try:
            if scheme.lower() == "bearer" and credential.startswith(identity.API_KEY_PREFIX):
                token, caller, principal = await self._exchange_api_key(state, credential.strip())
                scope.setdefault("state", {})["principal"] = principal
                headers = [(k, v) for k, v in headers if k != b"authorization"]
                headers.append((b"authorization", f"Bearer {token}".encode()))
            elif scheme.lower() == "bearer" and credential:
                principal = await state.verifier.verify(credential.strip())
                if principal.password_change_only and scope["path"] != PASSWORD_CHANGE_PATH:
                    raise PasswordChangeRequired()
                scope.setdefault("state", {})["principal"] = principal
                caller = principal.subject
        except DomainError as exc:
            return await problem_response(exc.status, exc.slug, exc.title, exc.detail)(scope, receive, send)
        scope["headers"] = headers

        client = scope.get("client") or ("unknown", 0)
        # Sign-ins are limited by their failures (gateway/identity/router.py), not here: counted
        # per address, the successful sign-ins of an office behind one NAT would lock it out.
        wait = 0.0 if scope["path"] == "/auth/token" else await state.rate_limits.request(caller or f"ip:{client[0]}")
        if wait:
            retry = max(1, int(wait + 0.999))
            return await problem_response(429, "rate-limited", "Too many requests",
                                          f"slow down; try again in {retry} s",
                                          headers=rate_limit_headers(retry, state.rate_limits.requests.amount)
                                          )(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _exchange_api_key(self, state, key: str) -> tuple[str, str]:
        async with state.db.session() as session:
            api_key, org = await identity.principal_for_api_key(session, key)
            await identity.note_api_key_use(session, api_key)
        token = state.api_key_tokens.get(api_key.id)
        if token is None:
            token, _ = state.signer.mint(subject=api_key.id, org_id=org.id, org_path=org.path, roles=api_key.roles,
                                         kind="api_key", name=api_key.name, ttl_seconds=ApiKeyTokens.TTL)
            state.api_key_tokens.put(api_key.id, token)
        principal = Principal(subject=str(api_key.id), org_id=org.id, org_path=org.path,
                              roles=frozenset(api_key.roles), kind="api_key", name=api_key.name)
        return token, str(api_key.id), principal
