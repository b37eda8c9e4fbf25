"""This service's copy of the orgs' policy documents (budget owns them, issue #20), kept by
`budget.policy.changed` events (`kernel.policy_copies`) and resolved as budget does, so that a
rule of the notices is read here without calling budget."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.notices import EffectivePolicy
from kernel.policy_copies import PolicyCopies, policy_copies_table
from services.procurement.models import ProcurementTable

policy_copies = policy_copies_table(ProcurementTable.metadata)
COPIES = PolicyCopies(policy_copies)


async def effective_policy(session: AsyncSession, org_path: str) -> EffectivePolicy:
    """The effective policy of the org at `org_path`: field by field, the nearest org's own
    document that sets it, else the notices' defaults (`kernel.notices`)."""
    return await COPIES.effective_policy(session, org_path)
