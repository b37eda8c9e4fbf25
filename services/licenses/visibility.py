"""Who sees what in the licenses service: one rule, in one place, that every read goes through.

The reader sees a pool, its entitlements, allocations and history, a device, a reclaim run, a transfer
when the object's org is in its subtree (any role there, auditors included). Nobody else sees
it — a supplier, a sibling org, a child org of the object's: for them the object does not exist
(404). Lists apply the same rule in the query, never after it.

The oversight objects follow the same subtree rule — a unit reads its own annual reports, its
parent the children's; findings are read over the org's subtree — with one narrowing for install
requests, below.

The software catalogue is the exception: one for the whole installation (a title is the same
product in every org), so every signed-in caller reads it, its titles' history included.

Who may act (write) is declared here too, once per rule: each `Roles` below is both a route's
`x-roles` (docs/authorization.md) and the check its use case makes.
"""

from __future__ import annotations

import sqlalchemy as sa

from kernel.auth import STAFF, Principal, Roles
from kernel.errors import Forbidden
from kernel.history import actor_of
from kernel.orgs import in_subtree

# Every write over pools, entitlements, devices, seats, the catalogue and annual reports, and a
# finding's resolution; an install request's decision.
IT_ADMINS = Roles("it_admin")
# An install request is asked for by a staff member (or an IT admin for someone), and read by both
# (the role matrix acts with the first: an IT admin reads every request of its org, staff only its own).
IT_ADMINS_AND_STAFF = Roles("it_admin", STAFF)
# Findings are recorded, verified and reopened by the auditor (SPEC Oversight).
AUDITORS = Roles("auditor")


def sees(principal: Principal, org_path: str) -> bool:
    """Whether the reader sees one object of the org at `org_path`."""
    return principal.covers(org_path)


def scope(principal: Principal, org_path_column) -> sa.ColumnElement[bool]:
    """The same rule as a query condition, for lists."""
    return in_subtree(org_path_column, principal)


# Install requests (SPEC Oversight): IT admins (and admin) over the org and auditors read the
# subtree's; a staff member reads only those it made itself; any other role reads none (403).
SUBTREE, OWN = "subtree", "own"


def install_request_reach(principal: Principal) -> str:
    """How far the reader sees install requests: the subtree's, or its own; else Forbidden."""
    if principal.has_any("it_admin") or "auditor" in principal.roles:
        return SUBTREE
    if STAFF in principal.roles:
        return OWN
    raise Forbidden("install requests are read by IT admins and auditors of the org, and by their requesters")


def sees_install_request(principal: Principal, org_path: str, requested_by: str) -> bool:
    """Whether the reader sees one install request (the caller answers 404 when not)."""
    if not sees(principal, org_path):
        return False
    return install_request_reach(principal) == SUBTREE or requested_by == actor_of(principal)


def install_request_scope(principal: Principal, org_path_column, requested_by_column) -> sa.ColumnElement[bool]:
    """The same rule as a query condition, for lists."""
    in_scope = scope(principal, org_path_column)
    if install_request_reach(principal) == OWN:
        return sa.and_(in_scope, requested_by_column == actor_of(principal))
    return in_scope
