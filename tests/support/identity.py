"""Signing keys and an org tree for tests that run a service without the gateway."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel.ids import new_id, utcnow
from kernel.orgs import OrgRef
from kernel.schema import orgs as orgs_table

ISSUER, AUDIENCE = "zhengban", "zhengban-api"


class TestKeys:
    __test__ = False  # a helper, not a test class

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        self.kid = "test-" + uuid.uuid4().hex[:8]
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        self.jwks = {"keys": [jwk]}

    def mint(self, *, org: OrgRef, roles: list[str] | tuple[str, ...], subject: uuid.UUID | None = None,
             kind: str = "user", name: str = "tester", ttl: int = 900, **overrides) -> str:
        now = int(utcnow().timestamp())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(subject or new_id()), "iat": now, "nbf": now,
                  "exp": now + ttl, "org_id": str(org.id), "org_path": org.path, "roles": list(roles),
                  "kind": kind, "name": name}
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


@dataclass
class Actor:
    """A user of a test: an org, roles, a stable subject, and the headers to send."""

    org: OrgRef
    roles: tuple[str, ...]
    subject: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class OrgTree:
    """Builds orgs with real paths: `tree.add("school", "unit", parent="dept")`."""

    def __init__(self, keys: TestKeys):
        self.keys = keys
        self.orgs: dict[str, OrgRef] = {}
        root_id = new_id()
        self.orgs["root"] = OrgRef(root_id, None, "root", "root", f"/{root_id.hex}/")

    def add(self, name: str, kind: str, parent: str = "root") -> OrgRef:
        parent_ref = self.orgs[parent]
        org_id = new_id()
        ref = OrgRef(org_id, parent_ref.id, name, kind, f"{parent_ref.path}{org_id.hex}/")
        self.orgs[name] = ref
        return ref

    def __getitem__(self, name: str) -> OrgRef:
        return self.orgs[name]

    def actor(self, org: str, *roles: str, subject: uuid.UUID | None = None) -> Actor:
        subject = subject or new_id()
        return Actor(self.orgs[org], roles, subject, self.keys.mint(org=self.orgs[org], roles=roles, subject=subject))

    async def seed(self, session) -> None:
        """Writes the tree into a service's local org table."""
        now = utcnow()
        for ref in self.orgs.values():
            await session.execute(sa.delete(orgs_table).where(orgs_table.c.id == ref.id))
            await session.execute(sa.insert(orgs_table).values(
                id=ref.id, parent_id=ref.parent_id, name=ref.name, kind=ref.kind, path=ref.path, updated_at=now))
        await session.commit()


def standard_tree(keys: TestKeys) -> OrgTree:
    """A province with two departments and a school, an SOE group, and two suppliers."""
    tree = OrgTree(keys)
    tree.add("province", "finance_bureau")
    tree.add("dept_a", "unit", "province")
    tree.add("school_a1", "unit", "dept_a")
    tree.add("dept_b", "unit", "province")
    tree.add("sasac", "sasac")
    tree.add("soe", "soe_group", "sasac")
    tree.add("enterprise_1", "enterprise", "soe")
    tree.add("enterprise_2", "enterprise", "soe")
    tree.add("supplier_x", "supplier")
    tree.add("supplier_y", "supplier")
    return tree
