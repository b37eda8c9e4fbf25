"""Verifying the gateway's access tokens, and the Principal every use-case is given.

Tokens are EdDSA (Ed25519) JWTs. The algorithm is pinned (no `alg: none`, no HS256 with the
public key as secret), and `iss`, `aud`, `exp`, `sub` are required. Public keys come from the
gateway's JWKS and are fetched again when a token names a `kid` we have not seen, which is how a
key rotation reaches every service without a restart.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import jwt
from fastapi import Depends, Request

from kernel.errors import Forbidden, Unauthorized

ALGORITHM = "EdDSA"
LEEWAY = 5  # seconds of clock skew allowed on exp

ROLES = ("admin", "finance", "budget_editor", "procurement", "negotiator", "supplier", "it_admin", "auditor",
         "staff")
# Any employee (SPEC Identity): may ask for a software install and read its own requests, nothing else.
STAFF = "staff"
STAFF_ONLY = frozenset({STAFF})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or an API key, acting with `roles` over the subtree of `org_id`."""

    subject: str
    org_id: uuid.UUID
    org_path: str
    roles: frozenset[str]
    kind: str = "user"  # "user" | "api_key"
    name: str = ""
    # Signed in with a one-time password: may do nothing but choose a new one.
    password_change_only: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def user_id(self) -> uuid.UUID:
        return uuid.UUID(self.subject)

    @property
    def is_root_admin(self) -> bool:
        """An admin of the root org: the only one who runs the whole installation (keys, parked events)."""
        return "admin" in self.roles and self.org_path.count("/") == 2

    @property
    def is_staff_only(self) -> bool:
        """Holds the staff role and no other: sees its own install requests and nothing else."""
        return self.roles == STAFF_ONLY

    @property
    def is_auditor(self) -> bool:
        """Holds the auditor role and no other: reads everything in its subtree, never writes."""
        return is_auditor(self.roles)

    def has_any(self, *roles: str) -> bool:
        """Whether the caller may act with one of `roles` (admin may act as any); an auditor never acts."""
        return may_act(self.roles, *roles)

    def covers(self, org_path: str) -> bool:
        """True when `org_path` lies in the caller's subtree (its own org included)."""
        return org_path.startswith(self.org_path)

    def may(self, org_path: str, *roles: str) -> bool:
        return self.covers(org_path) and self.has_any(*roles)

    def refuse_auditor(self) -> None:
        """Raises Forbidden for an auditor: for writes whose right is not a role over an org (a
        panel seat, an agreement's supplier), checked after this."""
        if self.is_auditor:
            raise Forbidden("auditors read, never write")

    def require(self, org_path: str, *roles: str) -> None:
        """Raises Forbidden unless the caller may act with one of `roles` over that org: every
        write's check. An auditor hears that auditors never write.

        Callers check visibility first (an invisible object is a 404), so a 403 here never tells
        a stranger that something exists.
        """
        self.refuse_auditor()
        if not self.may(org_path, *roles):
            raise Forbidden(f"this needs the role {' or '.join(roles) or 'admin'} over the object's org")


class Roles(dict):
    """Who may call a route, declared once: it is the route's `openapi_extra` (its `x-roles`, read by
    docs/authorization.md and the staff gate below) and it is the check the use case makes.

        IT_ADMINS = Roles("it_admin")                      # in the service's visibility.py
        @router.post(..., openapi_extra=IT_ADMINS)         # or {**IT_ADMINS, **gives(...)}
        IT_ADMINS.require(principal, device.org_path)      # in the use case

    "public", "authenticated" and "staff" only describe a route; `require` asks for the real roles.
    """

    def __init__(self, *names: str):
        super().__init__({"x-roles": list(names)})
        self.names = names

    def held_by(self, principal: Principal) -> bool:
        """Whether the caller may act with one of these roles anywhere (admin may act as any)."""
        return principal.has_any(*self.names)

    def allow(self, principal: Principal, org_path: str) -> bool:
        """Whether the caller may act with one of these roles over the org at `org_path`."""
        return principal.may(org_path, *self.names)

    def require(self, principal: Principal, org_path: str) -> None:
        """Forbidden unless the caller may act with one of these roles over that org."""
        principal.require(org_path, *self.names)

    def require_held(self, principal: Principal) -> None:
        """Forbidden unless the caller holds one of these roles: for writes over no org's object
        (the installation-wide catalogues)."""
        principal.refuse_auditor()
        if not self.held_by(principal):
            raise Forbidden(f"this needs the role {' or '.join(self.names)} or admin")


PUBLIC = Roles("public")  # no token at all (sign-in, the JWKS)
SIGNED_IN = Roles("authenticated")  # any signed-in caller; what it sees is its visibility's business
SIGNED_IN_AND_STAFF = Roles("authenticated", STAFF)  # as SIGNED_IN, and staff-only callers too
ADMINS = Roles("admin")


AUDITOR_ONLY = frozenset({"auditor"})


def is_auditor(roles: Iterable[str]) -> bool:
    """An auditor holds that role alone; someone who is also, say, finance writes as finance."""
    return frozenset(roles) == AUDITOR_ONLY


def may_act(roles: Iterable[str], *wanted: str) -> bool:
    """The one rule of who may act (write), for a service's Principal and the console's buttons
    alike: admin, or one of `wanted`, and never an auditor."""
    held = frozenset(roles)
    return not is_auditor(held) and ("admin" in held or any(r in held for r in wanted))


class KeySet:
    """The gateway's public keys, fetched lazily and refreshed on an unknown `kid`."""

    def __init__(self, jwks_url: str | None = None, static_jwks: dict | None = None,
                 min_refresh_seconds: float = 1.0):
        self.jwks_url = jwks_url
        self._keys: dict[str, object] = {}
        self._last_fetch = 0.0
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()
        if static_jwks:
            self.load(static_jwks)

    def load(self, jwks: dict) -> None:
        keys = {}
        for jwk in jwks.get("keys", []):
            keys[jwk["kid"]] = jwt.PyJWK.from_json(json.dumps(jwk), algorithm=ALGORITHM).key
        self._keys = keys

    def has(self, kid: str) -> bool:
        return kid in self._keys

    async def key_for(self, kid: str):
        key = self._keys.get(kid)
        if key is not None or self.jwks_url is None:
            return key
        async with self._lock:
            if kid not in self._keys:
                # At most one fetch per interval, however many unknown kids arrive: a flood of
                # made-up kids must not become a flood of requests to the gateway.
                wait = self._min_refresh - (time.monotonic() - self._last_fetch)
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_fetch = time.monotonic()
                try:
                    async with httpx.AsyncClient(timeout=3) as client:
                        resp = await client.get(self.jwks_url)
                        resp.raise_for_status()
                        self.load(resp.json())
                except (httpx.HTTPError, ValueError):
                    return None
        return self._keys.get(kid)


class TokenVerifier:
    """Checks access tokens. A script sends the same token with every request, so a token that
    passed is remembered, by its exact text, until it expires or its key leaves the key set: the
    signature check and claim parsing were a sixteenth of a service's CPU per request."""

    REMEMBERED = 10_000

    def __init__(self, keys: KeySet, *, issuer: str, audience: str, refused=None):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # The disabled users (kernel/disabled_users.py), asked on every request, remembered token or not.
        self.refused = refused
        self._passed: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        principal = await self._verified(token)
        if self.refused is not None and principal.kind == "user" and self.refused.refuses(principal.subject):
            raise Unauthorized("this user has been disabled", slug="user-disabled", title="User disabled")
        return principal

    async def _verified(self, token: str) -> Principal:
        if (hit := self._passed.get(token)) is not None:
            principal, expires, kid = hit
            if time.time() < expires + LEEWAY and self.keys.has(kid):
                return principal
            del self._passed[token]
        principal, expires, kid = await self._check(token)
        self._passed[token] = (principal, expires, kid)
        if len(self._passed) > self.REMEMBERED:
            self._passed.popitem(last=False)
        return principal

    async def _check(self, token: str) -> tuple[Principal, float, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("the access token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("the access token's algorithm is not accepted")
        kid = str(header.get("kid", ""))
        key = await self.keys.key_for(kid)
        if key is None:
            raise Unauthorized("the access token was signed with an unknown key")
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=self.issuer, audience=self.audience,
                options={"require": ["exp", "iss", "aud", "sub", "iat"]}, leeway=LEEWAY,
            )
            return Principal(
                subject=str(claims["sub"]),
                org_id=uuid.UUID(claims["org_id"]),
                org_path=str(claims["org_path"]),
                roles=frozenset(claims.get("roles", [])),
                kind=str(claims.get("kind", "user")),
                name=str(claims.get("name", "")),
                password_change_only=claims.get("pwd_change") is True,
            ), float(claims["exp"]), kid
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise Unauthorized("the access token is not valid") from exc


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send `Authorization: Bearer <token>`")
    return token.strip()


class PasswordChangeRequired(Forbidden):
    slug, title = "password-change-required", "Password change required"

    def __init__(self):
        super().__init__("this sign-in used a one-time password: choose a new one "
                         "(POST /api/v1/identity/me/password) and sign in again")


async def any_principal(request: Request) -> Principal:
    """The caller, even one that signed in with a one-time password (for the password change only)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await request.app.state.verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


def declared_roles(request: Request) -> tuple[str, ...]:
    """The roles the matched route declares (`openapi_extra` `x-roles`, docs/authorization.md)."""
    route = request.scope.get("route")
    return tuple((getattr(route, "openapi_extra", None) or {}).get("x-roles", ()))


async def current_principal(request: Request) -> Principal:
    principal = await any_principal(request)
    if principal.password_change_only:
        raise PasswordChangeRequired()
    if principal.is_staff_only and STAFF not in declared_roles(request):
        # Staff may do one thing (SPEC Identity): refused here, for every route that does not name
        # the role, rather than by each service's visibility rules one read at a time.
        raise Forbidden("the staff role may request software installs and read its own requests, nothing else")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
