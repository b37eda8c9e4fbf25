"""Every service refuses tokens that are not exactly what the gateway issues."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from kernel.auth import LEEWAY, KeySet, TokenVerifier
from kernel.errors import Unauthorized
from kernel.ids import utcnow
from tests.support.identity import TestKeys


@pytest.fixture
def verifier(keys):
    return TokenVerifier(KeySet(static_jwks=keys.jwks), issuer="zhengban", audience="zhengban-api")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_a_token_from_the_gateway_is_accepted(verifier, keys, tree):
    principal = await verifier.verify(keys.mint(org=tree["dept_a"], roles=["it_admin"]))
    assert principal.org_id == tree["dept_a"].id and principal.roles == frozenset({"it_admin"})


def _unsigned(keys, tree) -> str:
    claims = jwt.decode(keys.mint(org=tree["dept_a"], roles=["admin"]), options={"verify_signature": False})
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': keys.kid})}.{_b64(claims)}."


def _hs256_with_public_key(keys, tree) -> str:
    claims = jwt.decode(keys.mint(org=tree["dept_a"], roles=["admin"]), options={"verify_signature": False})
    # The classic confusion attack: an HMAC "signed" with the public key (built by hand, as
    # PyJWT itself refuses to make such a token).
    secret = json.dumps(keys.jwks["keys"][0]).encode()
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': keys.kid})}.{_b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def _tampered(keys, tree) -> str:
    header, payload, signature = keys.mint(org=tree["dept_a"], roles=["it_admin"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    return f"{header}.{_b64(claims)}.{signature}"


def _without_expiry(keys, tree) -> str:
    claims = jwt.decode(keys.mint(org=tree["dept_a"], roles=["admin"]), options={"verify_signature": False})
    del claims["exp"]
    return jwt.encode(claims, keys.private, algorithm="EdDSA", headers={"kid": keys.kid})


CASES = {
    "alg none": (_unsigned, "the access token's algorithm is not accepted"),
    "HS256 with the public key": (_hs256_with_public_key, "the access token's algorithm is not accepted"),
    "tampered claims": (_tampered, "the access token is not valid"),
    "wrong issuer": (lambda k, t: k.mint(org=t["dept_a"], roles=["admin"], iss="someone-else"),
                     "the access token is not valid"),
    "wrong audience": (lambda k, t: k.mint(org=t["dept_a"], roles=["admin"], aud="another-api"),
                       "the access token is not valid"),
    "expired": (lambda k, t: k.mint(org=t["dept_a"], roles=["admin"], exp=int(utcnow().timestamp()) - 60),
                "the access token has expired"),
    "not yet valid": (lambda k, t: k.mint(org=t["dept_a"], roles=["admin"], nbf=int(utcnow().timestamp()) + 600),
                      "the access token is not valid"),
    "no expiry": (_without_expiry, "the access token is not valid"),
    "garbage": (lambda k, t: "not.a.jwt", "the access token is malformed"),
}


@pytest.mark.parametrize("case", CASES)
async def test_refused_tokens(verifier, keys, tree, case):
    make, detail = CASES[case]
    token = make(keys, tree)
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.detail == detail


async def test_a_key_not_in_the_jwks_is_refused(verifier, tree):
    stranger = TestKeys()
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(stranger.mint(org=tree["dept_a"], roles=["admin"]))
    assert refused.value.detail == "the access token was signed with an unknown key"


async def test_a_remembered_token_is_refused_once_it_expires(verifier, keys, tree):
    # Valid for about one more second, counting the leeway for clock skew.
    token = keys.mint(org=tree["dept_a"], roles=["it_admin"], ttl=1 - LEEWAY)
    assert (await verifier.verify(token)).roles == frozenset({"it_admin"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            await verifier.verify(token)  # served from memory while it lasts
        except Unauthorized as refused:
            assert refused.detail == "the access token has expired"
            return
        await asyncio.sleep(0.05)
    pytest.fail("an expired token was still accepted")


async def test_a_remembered_token_is_refused_once_its_key_is_gone(verifier, keys, tree):
    token = keys.mint(org=tree["dept_a"], roles=["it_admin"])
    await verifier.verify(token)
    verifier.keys.load({"keys": []})
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.detail == "the access token was signed with an unknown key"
