from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kernel.api_schemas import RequestSchema, ResponseSchema
from kernel.bounds import FiscalYear, Quantity, Score, Text, UnitPriceFen
from kernel.ids import IdText


class ItemIn(RequestSchema):
    product_id: uuid.UUID
    cap_unit_price_fen: UnitPriceFen


class CampaignCreate(RequestSchema):
    title: Text(300)
    lead_org_id: uuid.UUID
    fiscal_year: FiscalYear
    participant_org_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    min_offers: int = Field(default=2, ge=1, le=100)
    # Omitted: the lead org's policy, 7 working days by default (the time suppliers have to
    # challenge an award, 政府采购法 Art. 52).
    standstill_days: int | None = Field(default=None, ge=0, le=60)
    agreement_months: int = Field(default=12, ge=1, le=60)


class ItemOut(ResponseSchema):
    id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    category: str
    cap_unit_price_fen: int
    aggregated_quantity: int
    unified_price_fen: int | None
    savings_fen: int | None


class CampaignOut(ResponseSchema):
    id: uuid.UUID
    title: str
    lead_org_id: uuid.UUID
    fiscal_year: int
    participant_org_ids: list[uuid.UUID]
    items: list[ItemOut]
    min_offers: int
    standstill_days: int
    agreement_months: int
    status: str
    round: int
    round_open: bool
    # Invited suppliers: the lead sees them all, a supplier only itself.
    supplier_org_ids: list[uuid.UUID]
    panel_member_user_ids: list[str]
    panel_buyer_representative_user_ids: list[str] = []
    awarded_supplier_org_id: uuid.UUID | None
    standstill_ends_at: datetime | None
    # In standstill: the end of its last working day, Beijing time.
    standstill_until: datetime | None = None
    awarded_at: datetime | None
    end_reason: str | None
    negotiation_reason: str | None = None
    savings_fen: int | None
    agreement_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DemandCreate(RequestSchema):
    org_id: uuid.UUID
    item_id: uuid.UUID
    quantity: Quantity
    budget_line_id: uuid.UUID


class DemandOut(ResponseSchema):
    id: uuid.UUID
    campaign_id: uuid.UUID
    org_id: uuid.UUID
    item_id: uuid.UUID
    quantity: int
    budget_line_id: uuid.UUID
    amount_fen: int
    status: str
    reason: str | None
    created_at: datetime
    updated_at: datetime


class OpenOffers(RequestSchema):
    supplier_org_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class OfferItem(RequestSchema):
    item_id: uuid.UUID
    unit_price_fen: UnitPriceFen


class OfferCreate(RequestSchema):
    items: list[OfferItem] = Field(min_length=1, max_length=100)

    @field_validator("items")
    @classmethod
    def _one_price_per_item(cls, items):
        if len({i.item_id for i in items}) != len(items):
            raise ValueError("each item may be priced once")
        return items


class OfferOut(ResponseSchema):
    """One supplier's offer in one round. Sending it again replaces it: a new id."""
    id: uuid.UUID
    campaign_id: uuid.UUID
    supplier_org_id: uuid.UUID
    round: int
    items: list[OfferItem]
    created_at: datetime
    updated_at: datetime


class Panel(RequestSchema):
    # How many, and how many of them the buyer's: the lead org's policy (services.procurement.campaigns.panel).
    # Users by id, in any spelling: kept canonical, so one user written twice is one member.
    member_user_ids: list[IdText] = Field(min_length=1, max_length=99)
    buyer_representative_user_ids: list[IdText] = Field(default_factory=list, max_length=99)


class EvaluationCreate(RequestSchema):
    supplier_org_id: uuid.UUID
    score: Score
    recommend: bool


class EvaluationOut(ResponseSchema):
    id: uuid.UUID
    campaign_id: uuid.UUID
    member_user_id: str
    supplier_org_id: uuid.UUID
    score: int
    recommend: bool
    created_at: datetime
    updated_at: datetime


class WorkingDays(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    days: int
    until: date
    calendar: str


class Award(RequestSchema):
    supplier_org_id: uuid.UUID
    # Needed when the campaign's demand at the cap reaches the public-tender threshold of its year.
    negotiation_reason: Text(2000) | None = None


class Reason(RequestSchema):
    reason: Text(2000)


class ComplaintOut(ResponseSchema):
    id: uuid.UUID
    campaign_id: uuid.UUID
    supplier_org_id: uuid.UUID
    reason: str
    status: str
    resolution: str | None
    created_at: datetime
    updated_at: datetime


class ComplaintResolution(RequestSchema):
    upheld: bool
    resolution: Text(2000)


class Party(ResponseSchema):
    """An org, user or API key the caller meets in procurement (services.procurement.visibility.parties)."""

    id: uuid.UUID


class Parties(ResponseSchema):
    """The answer to one question about at most 200 ids: an answer, not a list that pages."""

    items: list[Party]
