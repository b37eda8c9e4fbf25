"""Request ids, W3C trace context, JSON logs, Prometheus metrics, and the health endpoints."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.contracts import stream_for
from kernel.ids import utcnow
from kernel.metrics import (
    CONSUMER_PENDING,
    DB_POOL_IN_USE,
    DB_POOL_SIZE,
    DEAD_LETTERS,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    OUTBOX_OLDEST,
    OUTBOX_PENDING,
)
from kernel.schema import dead_letters, outbox
from kernel.tracing import current_request_id, current_traceparent

access_log = logging.getLogger("zhengban.access")


class JsonFormatter(logging.Formatter):
    _SKIP = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def __init__(self, process_name: str):
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "process": self.process_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            out["request_id"] = request_id
        # The trace id beside the request id, so a log line leads to its trace in Jaeger or Tempo
        # (traceparent: version-traceid-spanid-flags).
        traceparent = current_traceparent.get()
        if traceparent:
            out["trace_id"] = traceparent[3:35]
        for key, value in record.__dict__.items():
            if key not in self._SKIP and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(process_name: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _new_trace_parent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


class RequestContextMiddleware:
    """Gives every request an id and a traceparent, logs it as one JSON line, and counts it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode()[:100] or os.urandom(8).hex()
        incoming = headers.get(b"traceparent", b"").decode()
        traceparent = incoming if len(incoming) == 55 else _new_trace_parent()
        rid_token = current_request_id.set(request_id)
        tp_token = current_traceparent.set(traceparent)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route_path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route_path).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("request", extra={"method": scope["method"], "path": scope["path"],
                                                  "status": status, "ms": round(elapsed * 1000, 2)})
            current_request_id.reset(rid_token)
            current_traceparent.reset(tp_token)


ReadinessCheck = Callable[[Request], Awaitable[dict[str, bool]]]


def health_router(readiness: ReadinessCheck) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request):
        checks = await readiness(request)
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics(request: Request):
        if backlogs := getattr(request.app.state, "backlog_gauges", None):
            await backlogs.refresh()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def install_observability(app: FastAPI) -> None:
    app.add_middleware(RequestContextMiddleware)


class BacklogGauges:
    """Outbox lag, consumer lag, dead letters and pool use, sampled when Prometheus scrapes (at
    most every `min_interval` seconds): a few cheap queries per scrape instead of bookkeeping on
    every request or event, and no background task to stop."""

    def __init__(self, db, broker, consumers=None, *, min_interval: float = 5.0):
        self.db, self.broker, self.consumers, self.min_interval = db, broker, consumers, min_interval
        self._sampled_at = float("-inf")

    async def refresh(self) -> None:
        if time.monotonic() - self._sampled_at < self.min_interval:
            return
        self._sampled_at = time.monotonic()
        try:
            await self._sample()
        except Exception:  # noqa: BLE001 - a scrape answers with what it has
            logging.getLogger("zhengban.metrics").warning("sampling backlog metrics failed", exc_info=True)

    async def _sample(self) -> None:
        pool = self.db.engine.pool
        if hasattr(pool, "checkedout"):
            DB_POOL_IN_USE.set(pool.checkedout())
            DB_POOL_SIZE.set(pool.size())
        async with self.db.session() as session:
            pending, oldest = (await session.execute(
                sa.select(sa.func.count(), sa.func.min(outbox.c.created_at))
                .where(outbox.c.published_at.is_(None)))).one()
            parked = (await session.execute(sa.select(sa.func.count()).select_from(dead_letters)
                                            .where(dead_letters.c.replayed_at.is_(None)))).scalar_one()
        OUTBOX_PENDING.set(pending)
        OUTBOX_OLDEST.set((utcnow() - oldest).total_seconds() if oldest else 0)
        DEAD_LETTERS.set(parked)
        js = self.broker.js
        if js is None or self.consumers is None:
            return
        for name, sub in self.consumers.by_name.items():
            try:
                info = await asyncio.wait_for(js.consumer_info(stream_for(sub.subject), name), 2)
            except Exception:  # noqa: BLE001 - not created yet, or NATS away: the next scrape
                continue
            CONSUMER_PENDING.labels(name).set(info.num_pending + info.num_ack_pending)
