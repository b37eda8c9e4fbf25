from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from gateway.webhooks.models import URL_MAX
from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Text
from kernel.contracts import SUBJECTS


class WebhookCreate(RequestSchema):
    org_id: uuid.UUID
    url: Text(URL_MAX)
    events: list[Text(200)] = Field(min_length=1, max_length=len(SUBJECTS))

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http:// or https:// URL with a host is expected")
        return url

    @field_validator("events")
    @classmethod
    def _known_subjects(cls, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(SUBJECTS))
        if unknown:
            raise ValueError(f"unknown event subjects: {', '.join(unknown)}; "
                             f"the subjects are {', '.join(sorted(SUBJECTS))}")
        return sorted(set(events))


class WebhookOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    events: list[str]
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    # Shown once, at creation: the receiver verifies every delivery's signature with it.
    secret: str


class AttemptOut(ResponseSchema):
    id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    outcome: str
    event_id: uuid.UUID
    event_type: str
