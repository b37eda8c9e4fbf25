"""The funds ledger: every movement of a line's money, appended and never changed."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.ids import new_id, utcnow
from services.budget.models import Base

# A `transfer` is signed like an adjustment: negative on the line it leaves, positive on the one it
# reaches; its ref_id is the transfer.
KINDS = ("approve", "adjust", "transfer", "preencumber", "release_preencumbrance", "reserve", "release", "spend")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('approve', 'adjust', 'transfer', 'preencumber', 'release_preencumbrance', "
                           "'reserve', 'release', 'spend')", name="kind_known"),
        # One effect per business fact: a demand pre-encumbers once, an order reserves, releases
        # and spends once each, whichever event (or copy of it) brings the fact.
        sa.UniqueConstraint("line_id", "kind", "ref_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budget_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    # Signed as it moves the figure named by `kind` (a release is the negative of what it frees).
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    ref_id: Mapped[uuid.UUID | None] = mapped_column()  # the demand or order
    demand_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
