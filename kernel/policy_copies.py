"""A service's copy of the orgs' own policy documents, kept by `budget.policy.changed` events.

Budget owns the documents (`PUT /policies/{org_id}`); procurement and licenses need the effective
policy (standstill days, panel composition, thresholds, seats per device) on their own hot paths,
without calling budget. Each keeps this table, in the same shape, on its own metadata
(`policy_copies_table(Base.metadata)`), fed by an idempotent consumer: the inbox makes a
redelivery change nothing, and the revision makes an older change that arrives after a newer one
change nothing either. `effective_policy` resolves exactly as budget does (`kernel.notices`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.consumers import Subscription
from kernel.contracts import PolicyChanged, read
from kernel.db import JSONType, UTCDateTime, insert_ignore
from kernel.events import Event
from kernel.ids import utcnow
from kernel.notices import EffectivePolicy, PolicyDocument, ancestors_and_self, resolve

SUBJECT = "budget.policy.changed"


def policy_copies_table(metadata: sa.MetaData) -> sa.Table:
    """The copy table, defined on a service's own metadata (its migrations create it)."""
    table = sa.Table(
        "policy_copies", metadata,
        sa.Column("org_id", sa.Uuid, primary_key=True),
        sa.Column("org_path", sa.String(2000), nullable=False, index=True),
        sa.Column("document", JSONType, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("changed_at", UTCDateTime, nullable=False),  # when budget changed it
        sa.Column("copied_at", UTCDateTime, nullable=False),
    )
    return table


class PolicyCopies:
    """The copy of one service: the consumer that keeps it and the resolution that reads it."""

    def __init__(self, table: sa.Table):
        self.table = table
        # Built once (every allocation batch runs it), so that SQLAlchemy keeps its cache key too.
        self._on_paths = (sa.select(table.c.org_path, table.c.org_id, table.c.document)
                          .where(table.c.org_path.in_(sa.bindparam("paths", expanding=True))))

    async def on_policy_changed(self, session: AsyncSession, event: Event) -> None:
        """Keeps the org's document of the highest revision seen (once per event, by the inbox)."""
        change: PolicyChanged = read(event, PolicyChanged)
        # A document this version cannot read is parked rather than half-applied.
        document = PolicyDocument.model_validate(change.document).values()
        table, now = self.table, utcnow()
        values = {"org_path": change.org_path, "document": document, "revision": change.revision,
                  "changed_at": change.changed_at, "copied_at": now}
        await session.execute(insert_ignore(session, table, index_elements=["org_id"])
                              .values(org_id=change.org_id, **values))
        # Applied only over an older revision: a change overtaken by a newer one changes nothing.
        await session.execute(sa.update(table).where(table.c.org_id == change.org_id,
                                                     table.c.revision < change.revision).values(**values))

    def subscription(self) -> Subscription:
        return Subscription(SUBJECT, self.on_policy_changed)

    async def effective_policy(self, session: AsyncSession, org_path: str) -> EffectivePolicy:
        """The effective policy at `org_path`, from the copies of its path's documents."""
        rows = (await session.execute(sa.select(self.table.c.org_path, self.table.c.org_id, self.table.c.document)
                                      .where(self.table.c.org_path.in_(ancestors_and_self(org_path))))).all()
        return resolve([(row.org_path, row.org_id, row.document) for row in rows], org_path)

    async def effective_policies(self, session: AsyncSession, org_paths: Iterable[str]) -> dict[str, EffectivePolicy]:
        """The effective policy of each org path, from one query for the documents of all their paths
        (an allocation batch or a compliance report asks for the orgs of many devices at once)."""
        paths = set(org_paths)
        on_paths = sorted({ancestor for path in paths for ancestor in ancestors_and_self(path)})
        documents = []
        for start in range(0, len(on_paths), 500):
            documents.extend((await session.execute(self._on_paths, {"paths": on_paths[start:start + 500]})).all())
        return {path: resolve([(d.org_path, d.org_id, d.document) for d in documents], path) for path in paths}
