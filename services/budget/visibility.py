"""Who sees what in the budget service: one rule, in one place, that every read goes through.

The reader sees a budget line, its ledger entries, history, transfers and its org's policy
when the object's org is in its subtree (any role there, auditors included). Nobody else sees
it — a supplier, a sibling org, a child org of the object's: for them the object does not exist
(404). Lists apply the same rule in the query, never after it.
"""

from __future__ import annotations

import sqlalchemy as sa

from kernel.auth import Principal
from kernel.orgs import in_subtree


def sees(principal: Principal, org_path: str) -> bool:
    """Whether the reader sees one object of the org at `org_path`."""
    return principal.covers(org_path)


def scope(principal: Principal, org_path_column) -> sa.ColumnElement[bool]:
    """The same rule as a query condition, for lists."""
    return in_subtree(org_path_column, principal)
