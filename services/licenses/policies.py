"""The old name of `policy_copy`, kept only while allocations/seat_limits.py (under rework, issue #33's
seat path) still imports it; that rework imports `policy_copy` and removes this module."""

from services.licenses.policy_copy import effective_policies, effective_policy

__all__ = ["effective_policies", "effective_policy"]
