"""OpenTelemetry spans: HTTP server and client, database, and the NATS hops of every event.

Off unless there is somewhere to send them: `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP over
`OTEL_EXPORTER_OTLP_PROTOCOL`, `http/protobuf` by default or `grpc`; the other standard `OTEL_*`
variables apply), or `ZHENGBAN_TRACES_DIR`, a directory the tests read spans from (one JSON line
per span, one file per process). Off, no span is made and nothing is patched; `traceparent` is
still passed on over HTTP and NATS as before.

An event keeps the trace context of the request that wrote it in its envelope (`traceparent`,
written to the outbox in the same transaction); the relay's publish span is its child and goes
into the NATS message's headers, and a consumer continues the trace from there.

The trace context of the work under way lives here alone: the request's (or the handled event's)
`traceparent` and request id, which the events this work writes carry on (kernel/events.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

# Set for a request by kernel/observability.py and for a handled event by kernel/consumers.py.
current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


class Traced(Protocol):
    """What a consumer's span needs of an event (kernel.events.Event is one)."""

    id: uuid.UUID
    traceparent: str | None

    @property
    def nats_subject(self) -> str: ...


TracedEvent = TypeVar("TracedEvent", bound=Traced)

_tracer: trace.Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def configure(process_name: str) -> bool:
    """Installs the tracer provider and the client instrumentation once per process; True when on."""
    global _tracer
    if _tracer is not None:
        return True
    endpoint, traces_dir = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"), os.environ.get("ZHENGBAN_TRACES_DIR")
    if not endpoint and not traces_dir:
        return False
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({
        "service.name": os.environ.get("OTEL_SERVICE_NAME") or f"zhengban-{process_name}",
        "service.namespace": "zhengban"}))
    if endpoint:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
    if traces_dir:
        path = Path(traces_dir) / f"{process_name}-{os.getpid()}.jsonl"
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(path)))
    trace.set_tracer_provider(provider)
    AioHttpClientInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    _tracer = trace.get_tracer("zhengban")
    return True


def _otlp_exporter():
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise RuntimeError("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the grpc extra: "
                               "pip install 'zhengban[grpc]' (or use http/protobuf, the default)") from exc
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


def instrument_app(app, engine) -> None:
    """Server spans for `app`'s requests (continuing an incoming `traceparent`) and a span per
    statement on `engine`."""
    if not enabled():
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Health checks and scrapes every few seconds would bury the requests that matter; the
    # per-message receive/send spans say nothing a request's own span does not.
    app.add_middleware(OpenTelemetryMiddleware, excluded_urls="/healthz,/readyz,/metrics",
                       exclude_spans=["receive", "send"], default_span_details=_span_details)
    # The instrumentation declares SQLAlchemy < 2.1 and would skip itself silently on 2.1; the
    # engine events it uses are unchanged there (the end-to-end tracing test checks the spans).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)


def _span_details(scope) -> tuple[str, dict]:
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "")
    return f"{scope.get('method', 'HTTP')} {path}", {}


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or the one the request came with."""
    if enabled():
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier.get("traceparent"):
            return carrier["traceparent"]
    return current_traceparent.get()


def publish_headers(subject: str, payload: str, headers: dict[str, str]) -> dict[str, str]:
    """The NATS headers of an outbox row's message: with tracing on, a publish span (a child of
    the request that wrote the row) and its `traceparent`."""
    if not enabled():
        return headers
    parent = _extract(json.loads(payload).get("traceparent"))
    span = _tracer.start_span(f"{subject} publish", context=parent, kind=SpanKind.PRODUCER,
                              attributes={"messaging.system": "nats", "messaging.destination.name": subject,
                                          "messaging.operation.type": "publish"})
    with trace.use_span(span, end_on_exit=True):
        propagate.inject(headers)
    return headers


def received(event: TracedEvent, headers: dict[str, str] | None) -> TracedEvent:
    """The event as its consumer continues it: under the publish span its message carries."""
    if enabled() and headers and headers.get("traceparent"):
        event.traceparent = headers["traceparent"]
    return event


@contextlib.contextmanager
def consuming(consumer: str, event: Traced) -> Iterator[None]:
    """A consume span around applying `event` (the handler's statements and events are its
    children), continuing the trace the event carries."""
    if not enabled():
        yield
        return
    with _tracer.start_as_current_span(
            f"{event.nats_subject} process", context=_extract(event.traceparent), kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.destination.name": event.nats_subject,
                        "messaging.consumer.group.name": consumer, "messaging.message.id": str(event.id),
                        "messaging.operation.type": "process"}):
        yield


def _extract(traceparent_value: str | None) -> otel_context.Context:
    return propagate.extract({"traceparent": traceparent_value} if traceparent_value else {})


class JsonLinesExporter:
    """Writes each finished span as one JSON line (the tests' exporter)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult

        with self.path.open("a", encoding="utf-8") as out:
            for span in spans:
                parent = span.parent
                out.write(json.dumps({
                    "name": span.name, "kind": span.kind.name,
                    "service": span.resource.attributes.get("service.name"),
                    "trace_id": f"{span.context.trace_id:032x}", "span_id": f"{span.context.span_id:016x}",
                    "parent_id": f"{parent.span_id:016x}" if parent else None,
                    "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                }, ensure_ascii=False) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
