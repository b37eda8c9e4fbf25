"""The CloudEvents 1.0 envelope every event travels in.

`id` is also the `Nats-Msg-Id`, so JetStream drops a second publish of the same event within its
duplicate window; `type` is the NATS subject plus a version (`procurement.order.placed.v1`).
Extension attributes carry the correlation and causation ids and the W3C `traceparent`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field

from kernel import tracing
from kernel.contracts import version_of
from kernel.ids import new_id, new_ids, utcnow


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: uuid.UUID = Field(default_factory=new_id)
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None

    @property
    def nats_subject(self) -> str:
        """The NATS subject: the type without its version suffix."""
        return self.type.rsplit(".", 1)[0]

    def payload(self, model: type[BaseModel]):
        return model.model_validate(self.data)

    def encoded(self) -> EncodedEvent:
        # model_dump_json: pydantic writes the JSON in one pass (no dict of plain values in between).
        return EncodedEvent(self.id, self.nats_subject, self.model_dump_json())


class EncodedEvent(NamedTuple):
    """An event as the outbox stores it: its id, its NATS subject and its JSON."""

    id: uuid.UUID
    nats_subject: str
    payload: str


def new_event(subject: str, data: BaseModel, *, source: str, about: uuid.UUID | str | None = None,
              cause: Event | None = None, version: int | None = None) -> Event:
    """Builds an event; a `cause` passes its correlation id on and becomes the causation id. The
    version in `type` is the payload's contract version unless given."""
    version = version or version_of(type(data))
    correlation = (cause.correlationid or str(cause.id)) if cause else tracing.current_request_id.get()
    return Event(
        source=source,
        type=f"{subject}.v{version}",
        subject=str(about) if about is not None else None,
        data=data.model_dump(mode="json"),
        correlationid=correlation,
        causationid=str(cause.id) if cause else None,
        # The current span when tracing is on (a handler's consume span, a request's span), so the
        # event's hops hang under what caused them; else the cause's or the request's traceparent.
        traceparent=(tracing.traceparent() if tracing.enabled() else None)
        or (cause.traceparent if cause else None) or tracing.current_traceparent.get(),
    )


def new_events(subject: str, payload_type: type[BaseModel], data: list[dict[str, Any]], *, source: str,
               about: list[uuid.UUID]) -> list[EncodedEvent]:
    """Builds one event per payload in `data` (payloads of `payload_type` made from trusted values:
    not validated), each about its item of `about`, ready for the outbox. They share new_event's
    envelope (type, time, correlation, trace) and differ in id, subject and data, and are written
    by orjson straight from dicts: a bulk allocation makes ten thousand, and an Event model each
    was a fifth of its time. `str` for the ids asyncpg returns as its own UUID type, which orjson
    does not take for uuid.UUID."""
    if not data:
        return []
    envelope = new_event(subject, payload_type.model_construct(**data[0]), source=source,
                         about=about[0]).model_dump(mode="json")
    nats_subject = envelope["type"].rsplit(".", 1)[0]
    return [EncodedEvent(event_id, nats_subject, orjson.dumps(
        {**envelope, "id": event_id, "subject": item, "data": payload}, default=str).decode())
        for event_id, item, payload in zip(new_ids(len(data)), about, data, strict=True)]
