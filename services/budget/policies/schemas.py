from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, model_validator

from kernel.api_schemas import ResponseSchema, without_read_only
from kernel.contracts import Category
from kernel.notices import PolicyDocument

__all__ = ["Category", "PolicyIn", "PolicyOut"]


class PolicyIn(PolicyDocument):
    """An org's own policy: every field optional, absent fields inherited. A PUT replaces the
    org's whole document."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _get_body_accepted(cls, data):
        return without_read_only(data, cls, PolicyOut)


class PolicyOut(ResponseSchema):
    org_id: uuid.UUID
    # The nearest org (itself or an ancestor) with a document of its own; null where none has.
    source_org_id: uuid.UUID | None
    # True when the org has no document of its own.
    inherited: bool
    # The org's own document, as PUT (null when it has none).
    own: dict[str, Any] | None
    caps: dict[str, int | None]
    special_caps: dict[str, int | None]
    edition_caps: dict[str, int | None]
    os_needs_justification: bool
    seats_per_device: dict[str, int | None]
    decentralized_threshold_fen: int
    public_tender_threshold_fen: int
    thresholds: list[dict[str, int]]
    standstill_days: int
    panel_min_members: int
    panel_odd_members: bool
    panel_max_buyer_share: str
    annual_report_due: str  # "MM-DD": the annual report of a year is due by the end of that day, Beijing time
    # Per field (per key for caps and seats, per year for thresholds): {from: org id | "default",
    # notice: the notice behind a default, org_path}.
    sources: dict[str, dict[str, Any]]
    updated_at: datetime | None
