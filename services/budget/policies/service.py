"""The notices' rules as policy data, per jurisdiction, inherited down the org tree field by field.

The vocabulary and the defaults (财行〔2013〕98号 caps, the OS rule, one seat per device, the
thresholds per fiscal year, standstill, panel) are `kernel.notices`. Budget keeps each org's own
document and publishes every change (`budget.policy.changed`), so that procurement and licenses
resolve the same effective policy from their copies without calling budget.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import PolicyChanged
from kernel.db import insert_ignore
from kernel.errors import PreconditionFailed
from kernel.etags import check_if_match, etag
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.notices import EffectivePolicy, ancestors_and_self, resolve
from kernel.orgs import OrgDirectory, OrgRef
from kernel.outbox import add_event
from services.budget import visibility
from services.budget.policies import schemas
from services.budget.policies.models import Policy

SOURCE = "zhengban/budget"


@dataclass(frozen=True)
class Effective:
    policy: EffectivePolicy
    own: Policy | None  # the org's own document, if it has one
    nearest: Policy | None  # the nearest org on the path with a document
    # (org, revision) of every document on the path: what the effective policy is made of
    versions: tuple[tuple[uuid.UUID, int], ...] = ()


async def effective(session: AsyncSession, org: OrgRef) -> Effective:
    """The effective policy of an org, from the documents of the orgs on its path."""
    # populate_existing: a PUT reads the policy, writes it with one UPDATE statement, then answers
    # what it now is; the rows read first must not be served again from the session.
    rows = (await session.execute(sa.select(Policy).where(Policy.org_path.in_(ancestors_and_self(org.path)))
                                  .order_by(sa.func.length(Policy.org_path).desc())
                                  .execution_options(populate_existing=True))).scalars().all()
    policy = resolve([(row.org_path, row.org_id, row.document) for row in rows], org.path)
    own = next((row for row in rows if row.org_id == org.id), None)
    return Effective(policy, own, rows[0] if rows else None, tuple((row.org_id, row.revision) for row in rows))


async def effective_policy(session: AsyncSession, org: OrgRef) -> EffectivePolicy:
    return (await effective(session, org)).policy


def policy_out(org: OrgRef, found: Effective) -> schemas.PolicyOut:
    body = found.policy.as_json()
    return schemas.PolicyOut(
        org_id=org.id, source_org_id=found.nearest.org_id if found.nearest else None, inherited=found.own is None,
        own=found.own.document if found.own else None, **body,
        updated_at=found.nearest.updated_at if found.nearest else None)


def policy_etag(found: Effective) -> str:
    """The version of an effective policy: every document on the org's path, each by its
    revision (every PUT counts one), so an ancestor's change is a new version too."""
    return etag(found.versions)


async def get_policy(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                     org_id: uuid.UUID) -> tuple[schemas.PolicyOut, str]:
    org = await orgs.visible(session, principal, org_id)
    found = await effective(session, org)
    return policy_out(org, found), policy_etag(found)


async def put_policy(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID,
                     data: schemas.PolicyIn, *, if_match: str | None) -> tuple[schemas.PolicyOut, str]:
    org = await orgs.visible(session, principal, org_id)
    visibility.FINANCE.require(principal, org.path)
    # Two people editing one policy must not overwrite each other silently: a PUT names the
    # version it read (428 without one), and writes only over that version of the org's own
    # document (the revision in the update below).
    before = await effective(session, org)
    holds = check_if_match(if_match, policy_etag(before), required=True)
    read_revision = before.own.revision if before.own else None
    now, actor = utcnow(), history.actor_of(principal)
    document = data.values()
    # Two first PUTs for one org race to create the row: insert-or-nothing on the key, then one
    # update, so the later one waits for the earlier and overwrites it (a PUT replaces) — never a
    # duplicate-key error. No conflict target: the org's path is unique too, and a race on either
    # key must be absorbed. The revision is counted in the update, under its row lock, so each PUT
    # has its own and the last to commit has the highest.
    created = (await session.execute(insert_ignore(session, Policy.__table__, index_elements=None).values(
        org_id=org.id, org_path=org.path, document=document, revision=0, updated_by=actor, created_at=now,
        updated_at=now))).rowcount
    if holds and read_revision is None and not created:
        raise PreconditionFailed("someone set this org's policy since you read it: read it again, then retry")
    version = [Policy.revision == (0 if read_revision is None else read_revision)] if holds else []
    revision = (await session.execute(
        sa.update(Policy).where(Policy.org_id == org.id, *version)
        .values(document=document, revision=Policy.revision + 1, updated_by=actor, updated_at=now)
        .returning(Policy.revision).execution_options(synchronize_session=False))).scalar_one_or_none()
    if revision is None:
        raise PreconditionFailed("someone set this org's policy since you read it: read it again, then retry")
    await history.record(session, "policy", org.id, "set", principal, document)
    await add_event(session, new_event("budget.policy.changed", PolicyChanged(
        org_id=org.id, org_path=org.path, document=document, revision=revision, changed_at=now),
        source=SOURCE, about=org.id))
    await session.commit()
    found = await effective(session, org)
    return policy_out(org, found), policy_etag(found)
