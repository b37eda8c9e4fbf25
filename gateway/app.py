"""The gateway process: identity, tokens, routing, the merged OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import api_docs, openapi_doc
from gateway.access import AccessMiddleware, ApiKeyTokens
from gateway.audit.log import AuditLog, AuditMiddleware
from gateway.audit.router import router as audit_router
from gateway.console.router import install as install_console
from gateway.console.sessions import session_store
from gateway.identity import service as identity
from gateway.identity.router import auth_router, internal_router
from gateway.identity.router import router as identity_router
from gateway.models import User
from gateway.notifications.digest import Digests, Smtp
from gateway.proxy import SERVICES, Upstreams, proxy_router
from gateway.rate_limits import RateLimits
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.settings import GatewaySettings
from gateway.tokens import Signer
from gateway.webhooks import delivery as webhook_delivery
from gateway.webhooks.router import router as webhooks_router
from kernel import tracing
from kernel.auth import KeySet, TokenVerifier
from kernel.background import run_every
from kernel.broker import Broker
from kernel.consumers import Consumers
from kernel.db import Database
from kernel.disabled_users import DisabledUsers
from kernel.errors import install_problem_handlers
from kernel.idempotency import IdempotencyMiddleware
from kernel.observability import BacklogGauges, configure_logging, health_router, install_observability
from kernel.outbox import OutboxRelay
from kernel.retention import prune_forever
from kernel.routes import add_routes
from kernel.service_app import principal_subject
from kernel.stopping import cancel_and_wait

NAME = "gateway"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = GatewaySettings
ADMIN_PASSWORD_FILE = "admin-password.txt"
KEY_RELOAD_SECONDS = 30  # how soon a key another replica rotated in is trusted here


def database_url(settings: GatewaySettings) -> str:
    return settings.database_url or settings.sqlite_url("gateway")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    tracing.configure("gateway")
    db = Database(database_url(settings), pool_size=settings.database_pool_size)
    broker = Broker(settings.nats_url, name="zhengban-gateway", stream_replicas=settings.nats_stream_replicas)
    relay = OutboxRelay(db, broker)
    # The gateway consumes events only to hand them on to webhooks.
    consumers = Consumers("gateway", db, broker, webhook_delivery.SUBSCRIPTIONS,
                          max_attempts=settings.max_delivery_attempts,
                          ack_wait_seconds=settings.event_ack_wait_seconds)
    webhook_sender = webhook_delivery.Sender(db, schedule=settings.webhook_retry_schedule_seconds,
                                             retry_for=settings.webhook_retry_for_seconds,
                                             timeout=settings.webhook_timeout_seconds)
    signer = Signer(issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl_seconds=settings.token_ttl_seconds)
    keys = KeySet()

    async def disabled_user_ids() -> set[str]:
        async with db.session() as session:
            return {str(i) for i in (await session.execute(
                sa.select(User.id).where(User.disabled_at.is_not(None)))).scalars()}

    disabled = DisabledUsers(disabled_user_ids)
    audit = AuditLog(db)

    async def reload_keys():
        # Another gateway replica may have rotated the signing key: pick it up from the database.
        # Should that fail, the keys we have stay until the next round.
        async with db.session() as session:
            await signer.load(session)
        keys.load(signer.jwks)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with db.session() as session:
            await identity.ensure_admin(session, password=settings.admin_password,
                                        password_file=settings.data_dir / ADMIN_PASSWORD_FILE)
            await signer.load(session)
        keys.load(signer.jwks)
        await disabled.reload()
        tasks = []
        if settings.run_background:
            broker.start()
            tasks.append(asyncio.create_task(relay.run(), name="gateway-outbox-relay"))
            tasks.append(asyncio.create_task(run_every(
                KEY_RELOAD_SECONDS, reload_keys, what="reloading signing keys", first_after=KEY_RELOAD_SECONDS,
                log=logging.getLogger("zhengban.gateway")), name="gateway-reload-keys"))
            tasks.append(asyncio.create_task(prune_forever(app), name="gateway-prune"))
            consumers.start()
            tasks.append(asyncio.create_task(run_every(
                settings.webhook_poll_seconds, webhook_sender.send_due, what="sending webhooks",
                log=logging.getLogger("zhengban.webhooks")), name="gateway-webhooks"))
            tasks.append(asyncio.create_task(audit.run(), name="gateway-audit-writer"))
            tasks.append(asyncio.create_task(audit.prune_forever(
                settings.audit_retention_days, settings.retention_prune_interval_seconds), name="gateway-audit-prune"))
            # Another replica may have disabled a user: learned from the users table.
            tasks.append(asyncio.create_task(disabled.keep_current(app), name="gateway-disabled-users"))
            if app.state.digests:
                tasks.append(asyncio.create_task(run_every(
                    settings.email_poll_seconds, app.state.digests.send_due, what="sending e-mail digests",
                    first_after=settings.email_poll_seconds, log=logging.getLogger("zhengban.email")),
                    name="gateway-email"))
        try:
            yield
        finally:
            await cancel_and_wait(tasks)
            await consumers.stop()
            await webhook_sender.close()
            with contextlib.suppress(Exception):  # logged by flush
                await audit.flush()
            await app.state.upstreams.close()
            await app.state.console_store.close()
            await broker.close()
            await db.dispose()

    app = FastAPI(title="Zhengban API", version="1.0.0", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None, description="正版 Zhengban: software budgets, joint procurement and license pools.")
    app.state.settings = settings
    app.state.db = db
    app.state.broker = broker
    app.state.relay = relay
    app.state.consumers = consumers
    app.state.backlog_gauges = BacklogGauges(db, broker, consumers)
    app.state.signer = signer
    app.state.keys = keys
    app.state.disabled_users = disabled
    app.state.audit = audit
    app.state.verifier = TokenVerifier(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                       refused=disabled)
    app.state.api_key_tokens = ApiKeyTokens()
    app.state.rate_limits = RateLimits(settings)
    app.state.console_store = session_store(settings, db)
    app.state.upstreams = Upstreams({name: getattr(settings, f"{name}_url") for name in SERVICES},
                                    settings.upstream_timeout_seconds)
    app.state.openapi_cache = None
    app.state.digests = Digests(app, Smtp.parse(settings.smtp_url), settings.smtp_from) if settings.smtp_url else None

    async def readiness(request: Request) -> dict[str, bool]:
        checks = {"nats": broker.connected}
        try:
            await db.ping()
            checks["database"] = True
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            checks["database"] = False

        async def upstream_ready(name, bases):
            # A service is ready when any of its replicas is: the proxy skips the others.
            for base in bases:
                try:
                    if (await app.state.upstreams.fetch(base, "GET", "/readyz", timeout=2)).status == 200:
                        return name, True
                except Exception:  # noqa: BLE001
                    continue
            return name, False

        results = await asyncio.gather(*(upstream_ready(n, c) for n, c in app.state.upstreams.replicas.items()))
        checks.update(dict(results))
        return checks

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json():
        if app.state.openapi_cache is None:
            doc, complete = await openapi_doc.build(app)
            if not complete:
                return JSONResponse(doc)
            app.state.openapi_cache = doc
        return JSONResponse(app.state.openapi_cache)

    install_problem_handlers(app)
    add_routes(app, health_router(readiness), auth_router, identity_router, webhooks_router, audit_router,
               internal_router, proxy_router())
    install_console(app)
    api_docs.install(app)
    # Identity POSTs get idempotency here; proxied ones get it in the service that owns them.
    app.add_middleware(IdempotencyMiddleware, db=db, scope_of=principal_subject,
                       path_prefixes=("/api/v1/identity/",),
                       crash_after_commit_for_key=settings.crash_after_commit_for_key)
    # Inside AccessMiddleware: it has found the caller by the time a request is recorded.
    if settings.audit_requests:
        app.add_middleware(AuditMiddleware)
    app.add_middleware(AccessMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"])
    app.add_middleware(SecurityHeadersMiddleware)
    install_observability(app)
    tracing.instrument_app(app, db.engine)
    if settings.trusted_proxy_list:
        # Outermost, so the rate limits, the console and the logs all see the client's address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app


def metadata():
    """All of the gateway's tables."""
    from gateway.models import GatewayTable

    return GatewayTable.metadata
