from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import Text
from kernel.contracts import Category


class DeviceCreate(RequestSchema):
    org_id: uuid.UUID
    asset_tag: Text(100)
    hostname: Text(200)
    kind: Literal["desktop", "laptop", "server"]
    os_name: Text(200, min_length=0) | None = None
    owner: Text(200, min_length=0) | None = None
    # Titles that came pre-installed (an OEM operating system): genuine here when `bundled`.
    bundled_title_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class DeviceUpdate(RequestSchema):
    """A JSON merge patch of what people correct on a device; the asset tag is its name in its org
    (the import finds it by that) and stays."""

    hostname: Text(200) = None
    kind: Literal["desktop", "laptop", "server"] = None
    os_name: Text(200, min_length=0) | None = None
    owner: Text(200, min_length=0) | None = None


class DeviceOut(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    asset_tag: str
    hostname: str
    kind: str
    os_name: str | None
    owner: str | None
    status: str
    last_seen_at: datetime | None
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Software(RequestSchema):
    name: Text(200)
    vendor: Text(200, min_length=0) | None = None
    version: Text(100, min_length=0) | None = None
    category: Category | None = None


class SoftwareOut(Software):
    title_id: uuid.UUID | None = None


class InventoryReport(RequestSchema):
    software: list[Software] = Field(max_length=2000)


class InventoryOut(ResponseSchema):
    device_id: uuid.UUID
    reported_at: datetime
    software: list[SoftwareOut]


class UnrecognizedOut(ResponseSchema):
    name: str
    vendor: str | None
    devices: int


class ImportRow(ResponseSchema):
    row: int
    status: Literal["ok", "error"]
    device_id: uuid.UUID | None = None
    error: str | None = None


class ImportTotals(ResponseSchema):
    ok: int
    error: int


class ImportOut(ResponseSchema):
    rows: list[ImportRow]
    totals: ImportTotals


class RetireOut(DeviceOut):
    seats_reclaimed: int
