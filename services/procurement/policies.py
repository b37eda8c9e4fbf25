"""The orgs' policies as budget sets them (issue #20), read here without calling budget: a copy
kept by `budget.policy.changed` events (`kernel.policy_copies`), resolved as budget does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.policies import EffectivePolicy
from kernel.policy_copies import PolicyCopies, policy_copies_table
from services.procurement.models import ProcurementTable

policy_copies = policy_copies_table(ProcurementTable.metadata)
COPIES = PolicyCopies(policy_copies)


async def effective_policy(session: AsyncSession, org_path: str) -> EffectivePolicy:
    """The effective policy of the org at `org_path`: field by field, the nearest org's own
    document that sets it, else the notices' defaults (`kernel.policies`)."""
    return await COPIES.effective_policy(session, org_path)
