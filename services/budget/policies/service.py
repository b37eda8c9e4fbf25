"""Price caps and the procurement threshold, per jurisdiction, inherited down the org tree.

The defaults are those of 财行〔2013〕98号: office software at most 600 元 a licence (1,400 元
with a justified special need), antivirus 100 元 a client (1,400 元 for a server edition, which
needs a justification), and decentralized procurement below 60 万元.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal, refuse_auditor_writes
from kernel.db import insert_ignore
from kernel.ids import utcnow
from kernel.orgs import OrgDirectory, OrgRef
from services.budget.policies import schemas
from services.budget.policies.models import Policy

DEFAULT_CAPS = {"office": 60_000, "antivirus": 10_000}
DEFAULT_SPECIAL_CAPS = {"office": 140_000, "antivirus": 140_000}
DEFAULT_THRESHOLD_FEN = 60_000_000


@dataclass(frozen=True)
class Effective:
    source_org_id: uuid.UUID | None
    caps: dict[str, int]
    special_caps: dict[str, int]
    decentralized_threshold_fen: int
    updated_at: object = None


def ancestors_and_self(path: str) -> list[str]:
    """`/a/b/c/` → [`/a/`, `/a/b/`, `/a/b/c/`]."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


async def effective_policy(session: AsyncSession, org: OrgRef) -> Effective:
    """The org's own policy, else its nearest ancestor's, else the defaults."""
    own = (await session.execute(sa.select(Policy).where(Policy.org_path.in_(ancestors_and_self(org.path)))
                                 .order_by(sa.func.length(Policy.org_path).desc()).limit(1))).scalar_one_or_none()
    if own is None:
        return Effective(None, DEFAULT_CAPS, DEFAULT_SPECIAL_CAPS, DEFAULT_THRESHOLD_FEN)
    return Effective(own.org_id, own.caps, own.special_caps, own.decentralized_threshold_fen, own.updated_at)


def policy_out(org: OrgRef, policy: Effective) -> schemas.PolicyOut:
    return schemas.PolicyOut(org_id=org.id, source_org_id=policy.source_org_id,
                             inherited=policy.source_org_id != org.id, caps=policy.caps,
                             special_caps=policy.special_caps,
                             decentralized_threshold_fen=policy.decentralized_threshold_fen,
                             updated_at=policy.updated_at)


async def get_policy(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                     org_id: uuid.UUID) -> schemas.PolicyOut:
    org = await orgs.visible(session, principal, org_id)
    return policy_out(org, await effective_policy(session, org))


async def put_policy(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                     data: schemas.PolicyIn) -> schemas.PolicyOut:
    org = await orgs.visible(session, principal, org_id)
    refuse_auditor_writes(principal)
    principal.require(org.path, "finance")
    now, actor = utcnow(), history.actor_of(principal)
    values = {"caps": dict(data.caps), "special_caps": dict(data.special_caps),
              "decentralized_threshold_fen": data.decentralized_threshold_fen, "updated_by": actor, "updated_at": now}
    # Two first PUTs for one org race to create the row: insert-or-nothing on the key, then one
    # update, so the later one waits for the earlier and overwrites it (a PUT replaces) — never a
    # duplicate-key error. No conflict target: the org's path is unique too, and a race on either
    # key must be absorbed.
    await session.execute(insert_ignore(session, Policy.__table__, index_elements=None).values(
        org_id=org.id, org_path=org.path, created_at=now, **values))
    await session.execute(sa.update(Policy).where(Policy.org_id == org.id).values(**values)
                          .execution_options(synchronize_session=False))
    await history.record(session, "policy", org.id, "set", principal, data.model_dump())
    await session.commit()
    return policy_out(org, await effective_policy(session, org))
