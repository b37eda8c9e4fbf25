"""The licenses service process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.orgs import OrgDirectory
from kernel.service_app import create_service_app
from services.licenses import handlers
from services.licenses.allocations.batching import SeatBatcher
from services.licenses.allocations.router import router as allocations_router
from services.licenses.annual_reports.router import router as annual_reports_router
from services.licenses.catalogue.router import router as catalogue_router
from services.licenses.compliance.router import router as compliance_router
from services.licenses.devices.recognition import keep_recognition_current
from services.licenses.devices.router import router as devices_router
from services.licenses.expiry.service import expire_subscriptions
from services.licenses.findings.router import router as findings_router
from services.licenses.install_requests.router import router as install_requests_router
from services.licenses.pools.router import router as pools_router
from services.licenses.settings import LicensesSettings
from services.licenses.users.directory import UserDirectory

NAME = "licenses"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = LicensesSettings


def metadata():
    """All of this service's tables (services/licenses/tables.py)."""
    from services.licenses.tables import METADATA

    return METADATA


def database_url(settings: LicensesSettings) -> str:
    return settings.database_url or settings.sqlite_url(NAME)


def create_app(settings: LicensesSettings | None = None, *, static_jwks: dict | None = None) -> FastAPI:
    settings = settings or LicensesSettings()
    orgs = OrgDirectory(settings.gateway_url, settings.internal_token)
    users = UserDirectory(settings.gateway_url, settings.internal_token)
    app = create_service_app(
        name=NAME, settings=settings, database_url=database_url(settings), static_jwks=static_jwks,
        routers=[pools_router, allocations_router, devices_router, compliance_router, install_requests_router,
                 annual_reports_router, findings_router, catalogue_router],
        subscriptions=handlers.subscriptions(orgs, users), orgs=orgs,
        background_tasks=[expire_subscriptions, keep_recognition_current],
        description="Licenses service",
    )
    app.state.users = users
    app.state.seats = SeatBatcher(app.state.db, users, max_batch=settings.allocation_batch_max,
                                  window_seconds=settings.allocation_batch_window_ms / 1000,
                                  in_flight=settings.allocation_batches_in_flight)
    return app
