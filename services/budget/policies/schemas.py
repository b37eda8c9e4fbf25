from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from kernel.bounds import PositiveFen, UnitPriceFen
from kernel.deps import RequestSchema, ResponseSchema

Category = Literal["os", "office", "antivirus", "database", "industrial_design", "business", "other"]


class PolicyIn(RequestSchema):
    caps: dict[Category, UnitPriceFen] = Field(description="unit price cap per category, in fen")
    special_caps: dict[Category, UnitPriceFen] = Field(
        description="cap for a line with a justified special need, in fen")
    decentralized_threshold_fen: PositiveFen


class PolicyOut(ResponseSchema):
    org_id: uuid.UUID
    # The org whose own policy this is (an ancestor's when inherited; null for the national defaults).
    source_org_id: uuid.UUID | None
    inherited: bool
    caps: dict[str, int]
    special_caps: dict[str, int]
    decentralized_threshold_fen: int
    updated_at: datetime | None
