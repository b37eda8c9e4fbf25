"""Who sees what in the budget service: one rule, in one place, that every read goes through.

The reader sees a budget line, its ledger entries, history, transfers and its org's policy
when the object's org is in its subtree (any role there, auditors included). Nobody else sees
it — a supplier, a sibling org, a child org of the object's: for them the object does not exist
(404). Lists apply the same rule in the query, never after it.

Who may act (write) is declared here too, once per rule: each `Roles` below is both a route's
`x-roles` (docs/authorization.md) and the check its use case makes.
"""

from __future__ import annotations

import sqlalchemy as sa

from kernel.auth import Principal, Roles
from kernel.orgs import in_subtree

EDITORS = Roles("budget_editor")  # drafts, edits and submits a unit's lines; asks for transfers
FINANCE = Roles("finance")  # decides on lines and transfers, sets the policy, closes the year


def sees(principal: Principal, org_path: str) -> bool:
    """Whether the reader sees one object of the org at `org_path`."""
    return principal.covers(org_path)


def scope(principal: Principal, org_path_column) -> sa.ColumnElement[bool]:
    """The same rule as a query condition, for lists."""
    return in_subtree(org_path_column, principal)
