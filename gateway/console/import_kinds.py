"""The kinds of objects people import from spreadsheets (SPEC, "Data in and out"), each with the
API list its import and template stand beside and the roles that may import it (the route's
`x-roles`): one console page serves them all (pages/imports.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImportKind:
    key: str  # the page's path (/console/imports/<key>); its title is the word `import_<key>` of i18n.WORDS
    api: str  # the list's path: `<api>:import` takes the file, `<api>:import-template.xlsx` answers the template
    roles: tuple[str, ...]  # who may import it: the console offers the form to them only
    by_org: bool = True  # whether `?org_id=` names the org of the whole file (a row's org cell wins)
    org_word: str = "org"  # what that org is to the rows (a word of i18n.WORDS): their org, or their parent


KINDS = {kind.key: kind for kind in (
    ImportKind("devices", "/api/v1/licenses/devices", ("it_admin",)),
    ImportKind("entitlements", "/api/v1/licenses/entitlements", ("it_admin",)),
    ImportKind("lines", "/api/v1/budget/lines", ("budget_editor",)),
    ImportKind("orgs", "/api/v1/identity/orgs", ("admin",), org_word="parent_org"),
    ImportKind("users", "/api/v1/identity/users", ("admin",)),
)}
# The detection tool's inventory import has its own page (per-row results, not all or nothing).
INVENTORY_ROLES = ("it_admin",)


def importers() -> frozenset[str]:
    """Every role that may import something: the navigation offers the imports to them."""
    return frozenset(INVENTORY_ROLES).union(*(kind.roles for kind in KINDS.values()))
