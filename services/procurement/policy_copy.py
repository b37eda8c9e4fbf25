"""Procurement's copy of the orgs' policy documents (budget owns them, issue #20), fed by
`budget.policy.changed` (kernel/policy_copies.py): the standstill days, panel composition and
thresholds a campaign's rules read, without calling budget."""

from kernel.policy_copies import PolicyCopies, policy_copies_table
from services.procurement.models import ProcurementTable

policy_copies = policy_copies_table(ProcurementTable.metadata)
COPIES = PolicyCopies(policy_copies)
effective_policy = COPIES.effective_policy
