"""The roles procurement's commands ask for, shared by the domain folders."""

LEAD_ROLES = ("procurement",)  # runs a campaign and its agreement for the lead org's subtree
