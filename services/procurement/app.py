"""The procurement service process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.service_app import create_service_app
from services.procurement.agreements.router import router as agreements_router
from services.procurement.campaigns.router import router as campaigns_router
from services.procurement.campaigns.standstill import finalize_standstills
from services.procurement.handlers import SUBSCRIPTIONS
from services.procurement.ocds.router import router as ocds_router
from services.procurement.orders.router import router as orders_router
from services.procurement.products.router import router as products_router
from services.procurement.settings import ProcurementSettings

NAME = "procurement"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = ProcurementSettings


def metadata():
    """All of this service's tables (services/procurement/tables.py)."""
    from services.procurement.tables import METADATA

    return METADATA


def database_url(settings: ProcurementSettings) -> str:
    return settings.database_url or settings.sqlite_url(NAME)


def create_app(settings: ProcurementSettings | None = None, *, static_jwks: dict | None = None) -> FastAPI:
    settings = settings or ProcurementSettings()
    return create_service_app(
        name=NAME, settings=settings, database_url=database_url(settings), static_jwks=static_jwks,
        routers=[products_router, campaigns_router, ocds_router, agreements_router, orders_router],
        subscriptions=SUBSCRIPTIONS,
        background_tasks=[finalize_standstills],
        description="Joint procurement: campaigns, offers, agreements, call-off orders",
    )
