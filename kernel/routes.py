"""Registers routers' routes on the app itself rather than through `include_router`.

FastAPI 0.16x's `include_router` keeps each router as a branch that requests walk: every request
tries the branches in order, each branch first sums the route versions of its router (a walk over
all its routes) and then matches its routes, and the chosen branch matches again to handle the
request. In the licenses service that was 17 % of the CPU samples of an allocation
(docs/performance.md). Routes placed on the app are matched once, as Starlette does, and behave
the same: an `APIRouter`'s routes already carry its prefix, tags and dependencies.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Adds each router's routes to `app`, in order, as `include_router` without options would."""
    for router in routers:
        # A nested router, lifespan or startup hooks would be lost on this path; none of ours has any.
        assert not router.on_startup and not router.on_shutdown, "a router with startup hooks needs include_router"
        app.router.routes.extend(router.routes)
