"""Each role's own work: which areas of the console a user's navigation and home page offer.

Only what to show: the API still decides every read and every action. A user holding several roles
sees the union; `admin` sees every area; an auditor sees the read-only ones."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.console.import_kinds import importers
from gateway.console.sessions import ConsoleSession


@dataclass(frozen=True)
class Area:
    key: str  # a word of i18n.WORDS, and the page's name in tests
    href: str
    roles: frozenset[str]
    blurb: str  # a word of i18n.WORDS saying what the area is for


def _area(key: str, href: str, roles: str, blurb: str) -> Area:
    return Area(key, href, frozenset(roles.split()), blurb)


AREAS = (
    _area("queue", "/console/budget/queue", "finance auditor", "queue_blurb"),
    _area("lines", "/console/budget", "finance budget_editor auditor", "lines_blurb"),
    _area("transfers", "/console/budget/transfers", "finance budget_editor auditor", "transfers_blurb"),
    _area("policies", "/console/budget/policies", "finance auditor", "policies_blurb"),
    _area("summary", "/console/budget/summary", "finance budget_editor auditor", "summary_blurb"),
    _area("campaigns", "/console/campaigns", "procurement negotiator supplier auditor", "campaigns_blurb"),
    _area("agreements", "/console/agreements", "procurement negotiator supplier auditor", "agreements_blurb"),
    _area("orders", "/console/orders", "procurement supplier auditor", "orders_blurb"),
    _area("pools", "/console/pools", "it_admin auditor", "pools_blurb"),
    _area("devices", "/console/devices", "it_admin auditor", "devices_blurb"),
    _area("compliance", "/console/compliance", "it_admin auditor finance", "compliance_blurb"),
    _area("catalogue", "/console/catalogue", "it_admin auditor", "catalogue_blurb"),
    _area("unrecognized", "/console/inventory/unrecognized", "it_admin auditor", "unrecognized_blurb"),
    Area("imports", "/console/imports", importers(), "imports_blurb"),
    _area("users", "/console/users", "admin", "users_blurb"),
    _area("orgs", "/console/orgs", "admin", "orgs_blurb"),
    _area("api_keys", "/console/api-keys", "admin", "api_keys_blurb"),
    _area("audit", "/console/audit", "admin auditor", "audit_blurb"),
    _area("install_requests", "/console/install-requests", "staff it_admin auditor", "install_requests_blurb"),
    _area("annual_reports", "/console/annual-reports", "it_admin auditor", "annual_reports_blurb"),
    _area("findings", "/console/findings", "auditor it_admin", "findings_blurb"),
)


def areas_for(session: ConsoleSession) -> list[Area]:
    roles = session.roles
    if "admin" in roles:
        return list(AREAS)
    return [area for area in AREAS if area.roles & roles]


def may_see(session: ConsoleSession, key: str) -> bool:
    return any(area.key == key for area in areas_for(session))
