"""This service's copy of the orgs' policy documents (budget owns them, issue #20), kept by
`budget.policy.changed` events (`kernel.policy_copies`) and resolved as budget does, so that a
rule of the notices is read here without calling budget."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.notices import EffectivePolicy, ancestors_and_self, resolve
from kernel.policy_copies import PolicyCopies, policy_copies_table
from services.licenses.models import LicensesTable

policy_copies = policy_copies_table(LicensesTable.metadata)
COPIES = PolicyCopies(policy_copies)


async def effective_policy(session: AsyncSession, org_path: str) -> EffectivePolicy:
    """The effective policy of the org at `org_path`: field by field, the nearest org's own
    document that sets it, else the notices' defaults (`kernel.notices`)."""
    return await COPIES.effective_policy(session, org_path)


# Built once (every allocation batch runs it), so that SQLAlchemy keeps its cache key too.
POLICIES_ON_PATHS = (sa.select(policy_copies.c.org_path, policy_copies.c.org_id, policy_copies.c.document)
                     .where(policy_copies.c.org_path.in_(sa.bindparam("paths", expanding=True))))


async def effective_policies(session: AsyncSession, org_paths: Iterable[str]) -> dict[str, EffectivePolicy]:
    """The effective policy of each org path, from one query for the documents of all their paths
    (an allocation batch or a compliance report asks for the orgs of many devices at once)."""
    paths = set(org_paths)
    on_paths = sorted({ancestor for path in paths for ancestor in ancestors_and_self(path)})
    documents = []
    for start in range(0, len(on_paths), 500):
        documents.extend((await session.execute(POLICIES_ON_PATHS, {"paths": on_paths[start:start + 500]})).all())
    return {path: resolve([(d.org_path, d.org_id, d.document) for d in documents], path) for path in paths}
