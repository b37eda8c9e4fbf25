"""Typed payloads of every event subject in SPEC.md: the contract between the services.

Producers build these models; consumers parse with them. A field added later must be optional,
so that a newer producer does not break an older consumer (and the other way round). A field that
must be there is a new version of the contract (`….v2`, a subclass here): producers publish the
newest, consumers read every version still in flight with `read(event, ...)`.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

# The vocabulary every service shares. Request schemas accept exactly these; event payloads carry
# them as plain strings, so that a category added later does not break an older consumer.
Category = Literal["os", "office", "antivirus", "database", "industrial_design", "business", "other"]
CATEGORIES: tuple[str, ...] = get_args(Category)
# The categories as a Chinese sheet names them (an import reads either the word or the code).
CATEGORY_WORDS = {"操作系统": "os", "办公软件": "office", "杀毒软件": "antivirus", "防病毒软件": "antivirus",
                  "数据库": "database", "工业设计": "industrial_design", "工业设计软件": "industrial_design",
                  "业务软件": "business", "其他": "other"} | {code: code for code in CATEGORIES}
Metric = Literal["device", "user", "concurrent"]  # what one seat of a license counts
METRICS: tuple[str, ...] = get_args(Metric)


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


# identity (gateway)
class OrgChanged(Payload):
    org_id: uuid.UUID
    name: str
    kind: str
    parent_id: uuid.UUID | None
    path: str


class UserCreated(Payload):
    user_id: uuid.UUID
    org_id: uuid.UUID
    # The org's path travels with the user, so that a consumer scopes the user without a lookup.
    org_path: str
    username: str


class UserChanged(Payload):
    """A user as it now stands, after an admin changed it (roles, org, re-enabled…)."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    org_path: str
    username: str
    roles: list[str]
    disabled: bool
    # When the change was made: a copy keeps the newest, whatever order events arrive in.
    changed_at: datetime


class UserDisabled(UserChanged):
    """A user switched off: every service refuses its access tokens from now on."""

    disabled: bool = True


# budget
class LineApproved(Payload):
    line_id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    category: str
    approved_fen: int


class PolicyChanged(Payload):
    """An org's own policy document as it now stands (a PUT replaces it): the fields it sets, in the
    shape of `kernel.notices.PolicyDocument`. `revision` grows with each change of the org's
    document, so a copy keeps the highest it has seen whatever order the events arrive in."""

    org_id: uuid.UUID
    org_path: str
    document: dict[str, Any]
    revision: int
    changed_at: datetime


class PreencumbranceAnswered(Payload):
    demand_id: uuid.UUID
    campaign_id: uuid.UUID
    line_id: uuid.UUID
    org_id: uuid.UUID
    amount_fen: int
    reason: str | None = None  # set when rejected


class ReservationAnswered(Payload):
    order_id: uuid.UUID
    line_id: uuid.UUID
    org_id: uuid.UUID
    amount_fen: int
    reason: str | None = None  # set when rejected


class FundsSpent(Payload):
    order_id: uuid.UUID
    line_id: uuid.UUID
    org_id: uuid.UUID
    amount_fen: int


class LineClosed(Payload):
    """A line closed at year end, with what the close released of what it still held."""
    line_id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    category: str
    released_pre_encumbered_fen: int
    released_reserved_fen: int
    demand_ids: list[uuid.UUID] = []  # the demands whose pre-encumbrance was released
    order_ids: list[uuid.UUID] = []  # the orders whose reservation was released


class TransferChanged(Payload):
    """A budget transfer (调剂) requested, approved (the money moved) or rejected."""
    transfer_id: uuid.UUID
    org_id: uuid.UUID
    fiscal_year: int
    from_line_id: uuid.UUID
    to_line_id: uuid.UUID
    amount_fen: int
    status: str
    reason: str | None = None  # the request's reason, or the rejection's


# procurement
class DemandSubmitted(Payload):
    demand_id: uuid.UUID
    campaign_id: uuid.UUID
    org_id: uuid.UUID
    item_id: uuid.UUID
    product_id: uuid.UUID
    category: str
    quantity: int
    cap_unit_price_fen: int
    amount_fen: int
    budget_line_id: uuid.UUID


class DemandSubmittedV2(DemandSubmitted):
    """v2: the campaign's fiscal year travels with the demand, so that the budget can refuse a line of
    another year (SPEC Budget); v1 events, still in flight during an upgrade, carry none."""

    fiscal_year: int


class DemandReleased(Payload):
    demand_id: uuid.UUID
    campaign_id: uuid.UUID
    org_id: uuid.UUID
    budget_line_id: uuid.UUID
    reason: str | None = None


class AgreementItem(Payload):
    item_id: uuid.UUID
    product_id: uuid.UUID
    unit_price_fen: int
    cap_unit_price_fen: int


class AgreementAwarded(Payload):
    agreement_id: uuid.UUID
    campaign_id: uuid.UUID
    lead_org_id: uuid.UUID
    supplier_org_id: uuid.UUID
    items: list[AgreementItem]
    valid_from: datetime
    valid_to: datetime


class OrderPlaced(Payload):
    order_id: uuid.UUID
    agreement_id: uuid.UUID
    campaign_id: uuid.UUID
    item_id: uuid.UUID
    product_id: uuid.UUID
    category: str
    org_id: uuid.UUID
    budget_line_id: uuid.UUID
    quantity: int
    unit_price_fen: int
    amount_fen: int
    # The demand this org declared for the same item, if any: its pre-encumbrance becomes
    # the order's reservation instead of being held twice.
    demand_id: uuid.UUID | None = None


class OrderPlacedV2(OrderPlaced):
    """v2: the campaign's fiscal year travels with the order (see DemandSubmittedV2)."""

    fiscal_year: int


class OrderCancelled(Payload):
    order_id: uuid.UUID
    org_id: uuid.UUID
    budget_line_id: uuid.UUID
    amount_fen: int
    reason: str | None = None


class OrderDelivered(Payload):
    order_id: uuid.UUID
    org_id: uuid.UUID
    budget_line_id: uuid.UUID
    amount_fen: int
    supplier_org_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    vendor: str
    category: str
    metric: str
    quantity: int
    term_months: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    keys: list[str] | None = None


# licenses
class EntitlementAdded(Payload):
    entitlement_id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    product_id: uuid.UUID | None
    quantity: int
    source: str
    reference: str | None
    valid_to: datetime | None


class EntitlementExpired(Payload):
    entitlement_id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    quantity: int
    seats_reclaimed: int


class SeatAllocated(Payload):
    allocation_id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    assignee_type: str
    assignee_id: str


class SeatReclaimed(Payload):
    allocation_id: uuid.UUID
    pool_id: uuid.UUID
    org_id: uuid.UUID
    assignee_type: str
    assignee_id: str
    reason: str


class PoolLow(Payload):
    pool_id: uuid.UUID
    org_id: uuid.UUID
    available: int
    threshold: int


class InstallRequestDecided(Payload):
    install_request_id: uuid.UUID
    org_id: uuid.UUID
    device_id: uuid.UUID
    title_id: uuid.UUID
    kind: str  # install | uninstall
    status: str  # approved | rejected
    pool_id: uuid.UUID | None = None
    allocation_id: uuid.UUID | None = None  # the seat taken (install) or given back (uninstall)


class AnnualReportSubmitted(Payload):
    annual_report_id: uuid.UUID
    org_id: uuid.UUID
    year: int
    submitted_at: datetime
    late: bool


class FindingChanged(Payload):
    finding_id: uuid.UUID
    org_id: uuid.UUID
    status: str  # open | resolved | closed
    action: str  # recorded | resolved | verified | reopened
    due_date: date


# The newest version of each subject's contract, which producers publish.
SUBJECTS: dict[str, type[Payload]] = {
    "identity.org.created": OrgChanged,
    "identity.org.updated": OrgChanged,
    "identity.user.created": UserCreated,
    "identity.user.changed": UserChanged,
    "identity.user.disabled": UserDisabled,
    "budget.line.approved": LineApproved,
    "budget.policy.changed": PolicyChanged,
    "budget.preencumbrance.accepted": PreencumbranceAnswered,
    "budget.preencumbrance.rejected": PreencumbranceAnswered,
    "budget.reservation.accepted": ReservationAnswered,
    "budget.reservation.rejected": ReservationAnswered,
    "budget.reservation.released": ReservationAnswered,
    "budget.funds.spent": FundsSpent,
    # Beyond SPEC's table (docs/budget.md): the year-end close and budget transfers.
    "budget.line.closed": LineClosed,
    "budget.transfer.requested": TransferChanged,
    "budget.transfer.approved": TransferChanged,
    "budget.transfer.rejected": TransferChanged,
    "procurement.demand.submitted": DemandSubmittedV2,
    "procurement.demand.released": DemandReleased,
    "procurement.agreement.awarded": AgreementAwarded,
    "procurement.order.placed": OrderPlacedV2,
    "procurement.order.cancelled": OrderCancelled,
    "procurement.order.delivered": OrderDelivered,
    "licenses.entitlement.added": EntitlementAdded,
    "licenses.entitlement.expired": EntitlementExpired,
    "licenses.seat.allocated": SeatAllocated,
    "licenses.seat.reclaimed": SeatReclaimed,
    "licenses.pool.low": PoolLow,
    "licenses.install_request.decided": InstallRequestDecided,
    "licenses.annual_report.submitted": AnnualReportSubmitted,
    "licenses.finding.changed": FindingChanged,
}

# Every version a consumer may still meet, by event type.
VERSIONS: dict[str, type[Payload]] = {
    **{f"{subject}.v1": model for subject, model in SUBJECTS.items()},
    "procurement.demand.submitted.v1": DemandSubmitted,
    "procurement.demand.submitted.v2": DemandSubmittedV2,
    "procurement.order.placed.v1": OrderPlaced,
    "procurement.order.placed.v2": OrderPlacedV2,
}


@functools.cache  # new_event asks once per event, and a bulk makes ten thousand
def version_of(payload: type[Payload]) -> int:
    """The contract version a payload class is (what `new_event` puts in the type); 1 if unlisted."""
    return next((int(t.rsplit(".v", 1)[1]) for t, model in VERSIONS.items() if model is payload), 1)


def read(event, *models: type[Payload]):
    """The event's payload as the model of its type's version; one of `models` (the versions this
    consumer understands), else a ValueError (the consumer parks it rather than misread it)."""
    model = VERSIONS.get(event.type)
    if model not in models:
        raise ValueError(f"{event.type} is not a contract version this consumer reads")
    return event.payload(model)


# One stream per owning process; the first token of a subject names its owner.
STREAMS: dict[str, str] = {
    "identity": "IDENTITY",
    "budget": "BUDGET",
    "procurement": "PROCUREMENT",
    "licenses": "LICENSES",
}


def stream_for(subject: str) -> str:
    return STREAMS[subject.split(".", 1)[0]]
