"""Licenses' copy of the orgs' policy documents (budget owns them, issue #20), fed by
`budget.policy.changed` (kernel/policy_copies.py): the seats per device an allocation checks and
the annual report's deadline, read without calling budget."""

from kernel.policy_copies import PolicyCopies, policy_copies_table
from services.licenses.models import LicensesTable

policy_copies = policy_copies_table(LicensesTable.metadata)
COPIES = PolicyCopies(policy_copies)
effective_policy, effective_policies = COPIES.effective_policy, COPIES.effective_policies
