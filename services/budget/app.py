"""The budget service process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.service_app import create_service_app
from services.budget.handlers import SUBSCRIPTIONS
from services.budget.lines.router import router as lines_router
from services.budget.policies.router import router as policies_router
from services.budget.settings import BudgetSettings
from services.budget.transfers.router import router as transfers_router
from services.budget.years.router import router as years_router

NAME = "budget"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = BudgetSettings


def metadata():
    """All of this service's tables (services/budget/tables.py)."""
    from services.budget.tables import METADATA

    return METADATA


def database_url(settings: BudgetSettings) -> str:
    return settings.database_url or settings.sqlite_url(NAME)


def create_app(settings: BudgetSettings | None = None, *, static_jwks: dict | None = None) -> FastAPI:
    settings = settings or BudgetSettings()
    return create_service_app(
        name=NAME, settings=settings, database_url=database_url(settings), static_jwks=static_jwks,
        routers=[lines_router, transfers_router, policies_router, years_router], subscriptions=SUBSCRIPTIONS,
        description="Budget lines, approvals and the funds ledger",
    )
