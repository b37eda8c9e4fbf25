"""The funds ledger: every movement of a line's money, appended and never changed."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from kernel.db import UTCDateTime
from kernel.ids import new_id, utcnow
from services.budget.models import BudgetTable

# A `transfer` is signed like an adjustment: negative on the line it leaves, positive on the one it
# reaches; its ref_id is the transfer.
KINDS = ("approve", "adjust", "transfer", "preencumber", "release_preencumbrance", "reserve", "release", "spend")


class LedgerEntry(BudgetTable, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('approve', 'adjust', 'transfer', 'preencumber', 'release_preencumbrance', "
                           "'reserve', 'release', 'spend')", name="kind_known"),
        # One effect per business fact: a demand pre-encumbers once, an order reserves, releases
        # and spends once each, whichever event (or copy of it) brings the fact.
        sa.UniqueConstraint("line_id", "kind", "ref_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    line_id: uuid.UUID = Field(foreign_key="budget_lines.id", index=True)
    kind: str = Field(sa_type=sa.String(30))
    # Signed as it moves the figure named by `kind` (a release is the negative of what it frees).
    amount_fen: int = Field(sa_type=sa.BigInteger)
    ref_id: uuid.UUID | None = None  # the demand or order
    demand_id: uuid.UUID | None = Field(None, index=True)
    reason: str | None = Field(None, sa_type=sa.Text)
    actor: str = Field(sa_type=sa.String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
