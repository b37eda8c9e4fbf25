"""Builds a service's FastAPI app with all the kernel plumbing, so each service only adds routers
and event subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request
from starlette.types import Scope

from kernel import tracing
from kernel.auth import ADMINS, SIGNED_IN, CurrentPrincipal, KeySet, TokenVerifier
from kernel.broker import Broker
from kernel.consumers import Consumers, Subscription
from kernel.db import Database
from kernel.disabled_users import DisabledUsers, DisabledUsersCopy, service_disabled_users
from kernel.errors import Forbidden, Unauthorized, install_problem_handlers
from kernel.idempotency import IdempotencyMiddleware
from kernel.links import gives
from kernel.observability import BacklogGauges, configure_logging, health_router, install_observability
from kernel.orgs import OrgDirectory
from kernel.outbox import OutboxRelay
from kernel.pagination import Cursor, Limit
from kernel.retention import prune_forever
from kernel.routes import add_routes
from kernel.settings import ProcessSettings
from kernel.stopping import cancel_and_wait


def make_verifier(settings: ProcessSettings, static_jwks: dict | None = None,
                  refused: DisabledUsers | None = None) -> TokenVerifier:
    keys = KeySet(jwks_url=None if static_jwks else settings.gateway_url.rstrip("/") + "/.well-known/jwks.json",
                  static_jwks=static_jwks)
    return TokenVerifier(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, refused=refused)


async def principal_subject(scope: Scope) -> str | None:
    """The caller of a raw ASGI request, for scoping idempotency keys (None if unauthenticated)."""
    app = scope["app"]
    headers = dict(scope["headers"])
    scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        principal = await app.state.verifier.verify(token.strip())
    except Unauthorized:
        return None
    scope.setdefault("state", {})["principal"] = principal
    return principal.subject


def dead_letter_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["operations"])

    @router.get("/dead-letters", summary="Lists parked events (root admin).",
                openapi_extra={**ADMINS, **gives(dead_letter_id="/items/0/id")})
    async def list_dead_letters(request: Request, principal: CurrentPrincipal, cursor: Cursor = None,
                                limit: Limit = 100):
        if not principal.is_root_admin:
            raise Forbidden("only the root admin sees parked events")
        page = await request.app.state.consumers.dead_letter_page(cursor=cursor, limit=limit)
        return {"items": [{k: (str(v) if v is not None and k not in ("attempts",) else v)
                           for k, v in row.items()} for row in page.items], "next_cursor": page.next_cursor}

    @router.post("/dead-letters/{dead_letter_id}/replay", summary="Applies a parked event again (root admin).",
                 openapi_extra=ADMINS)
    async def replay_dead_letter(dead_letter_id: uuid.UUID, request: Request, principal: CurrentPrincipal):
        if not principal.is_root_admin:
            raise Forbidden("only the root admin replays parked events")
        return await request.app.state.consumers.replay(dead_letter_id)

    return router


def orgs_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["identity"])

    @router.get("/orgs/{org_id}", summary="Gets this service's view of an org of the caller's subtree.",
                openapi_extra=SIGNED_IN)
    async def get_org(org_id: uuid.UUID, request: Request, principal: CurrentPrincipal):
        async with request.app.state.db.session() as session:
            ref = await request.app.state.orgs.visible(session, principal, org_id)
            await session.commit()
        return {"id": ref.id, "parent_id": ref.parent_id, "name": ref.name, "kind": ref.kind, "path": ref.path}

    return router


def create_service_app(
    *,
    name: str,
    settings: ProcessSettings,
    database_url: str,
    routers: Sequence[APIRouter],
    subscriptions: Sequence[Subscription] = (),
    description: str = "",
    static_jwks: dict | None = None,
    background_tasks: Sequence = (),
    orgs: OrgDirectory | None = None,
) -> FastAPI:
    """`background_tasks`: coroutine functions taking the app, run for the app's lifetime; `orgs`:
    the org directory, when the service's event handlers need the one its requests use."""
    configure_logging(name, settings.log_level)
    tracing.configure(name)
    db = Database(database_url, pool_size=settings.database_pool_size)
    broker = Broker(settings.nats_url, name=f"zhengban-{name}", stream_replicas=settings.nats_stream_replicas)
    orgs = orgs or OrgDirectory(settings.gateway_url, settings.internal_token)
    disabled = service_disabled_users(db)
    all_subscriptions = [
        Subscription("identity.org.created", orgs.on_org_event),
        Subscription("identity.org.updated", orgs.on_org_event),
        *DisabledUsersCopy(disabled).subscriptions(),
        *subscriptions,
    ]
    consumers = Consumers(name, db, broker, all_subscriptions, max_attempts=settings.max_delivery_attempts,
                          ack_wait_seconds=settings.event_ack_wait_seconds)
    relay = OutboxRelay(db, broker)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        tasks: list[asyncio.Task] = []
        # Before the first request: a restarted service refuses at once whom it refused before.
        await disabled.reload()
        if settings.run_background:
            broker.start()
            tasks.append(asyncio.create_task(relay.run(), name=f"{name}-outbox-relay"))
            consumers.start()
            tasks += [asyncio.create_task(fn(app), name=f"{name}-{fn.__name__}")
                      for fn in (*background_tasks, prune_forever, disabled.keep_current)]
        try:
            yield
        finally:
            await cancel_and_wait(tasks)
            await consumers.stop()
            await broker.close()
            await db.dispose()

    app = FastAPI(title=f"Zhengban {name}", description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = db
    app.state.broker = broker
    app.state.orgs = orgs
    app.state.consumers = consumers
    app.state.backlog_gauges = BacklogGauges(db, broker, consumers)
    app.state.relay = relay
    app.state.disabled_users = disabled
    app.state.verifier = make_verifier(settings, static_jwks, refused=disabled)

    async def readiness(request: Request) -> dict[str, bool]:
        try:
            await db.ping()
            db_ok = True
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            db_ok = False
        return {"database": db_ok, "nats": broker.connected}

    install_problem_handlers(app)
    add_routes(app, health_router(readiness), *routers, orgs_router(f"/api/v1/{name}"),
               dead_letter_router(f"/api/v1/{name}"))
    app.add_middleware(IdempotencyMiddleware, db=db, scope_of=principal_subject,
                       crash_after_commit_for_key=settings.crash_after_commit_for_key)
    install_observability(app)
    tracing.instrument_app(app, db.engine)
    return app
