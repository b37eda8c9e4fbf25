"""Signing access tokens: Ed25519 keys with a `kid`, published as a JWKS, rotatable without downtime.

Rotation adds a new key that signs from then on; the old one stays in the JWKS until every token it
signed has expired, so no client sees a refusal during a rotation.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import SigningKey
from kernel.auth import ALGORITHM
from kernel.ids import new_id, utcnow


class Signer:
    def __init__(self, *, issuer: str, audience: str, ttl_seconds: int):
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._kid: str | None = None
        self._private = None
        self._jwks: dict = {"keys": []}

    @property
    def jwks(self) -> dict:
        return self._jwks

    async def load(self, session: AsyncSession) -> None:
        """Loads the keys in force, making the first one if there is none."""
        now = utcnow()
        rows = (await session.execute(sa.select(SigningKey).order_by(SigningKey.created_at))).scalars().all()
        live = [k for k in rows if k.retire_at is None or k.retire_at > now]
        if not any(k.superseded_at is None for k in live):
            live.append(await self._new_key(session))
            await session.commit()
        current = [k for k in live if k.superseded_at is None][-1]
        self._kid = current.kid
        self._private = serialization.load_pem_private_key(current.private_pem.encode(), password=None)
        self._jwks = {"keys": [k.public_jwk for k in live]}

    async def rotate(self, session: AsyncSession) -> str:
        """Makes a new signing key; the current one is published until its tokens have expired."""
        now = utcnow()
        await session.execute(sa.update(SigningKey).where(SigningKey.superseded_at.is_(None)).values(
            superseded_at=now, retire_at=now + timedelta(seconds=self.ttl_seconds + 60)))
        key = await self._new_key(session)
        await session.commit()
        await self.load(session)
        return key.kid

    async def _new_key(self, session: AsyncSession) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        kid = new_id().hex[:16]
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        key = SigningKey(kid=kid, private_pem=pem, public_jwk=jwk)
        session.add(key)
        await session.flush()
        return key

    def mint(self, *, subject: uuid.UUID, org_id: uuid.UUID, org_path: str, roles: list[str], kind: str,
             name: str, ttl_seconds: int | None = None, password_change: bool = False) -> tuple[str, int]:
        ttl = ttl_seconds or self.ttl_seconds
        now = utcnow()
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": str(subject), "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()), "exp": int(now.timestamp()) + ttl, "jti": new_id().hex,
            "org_id": str(org_id), "org_path": org_path, "roles": sorted(roles), "kind": kind, "name": name,
        }
        if password_change:
            # Good for the password change only: the gateway and every service refuse it elsewhere.
            claims["pwd_change"] = True
        token = jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self._kid})
        return token, ttl
