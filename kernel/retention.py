"""How long the kernel's bookkeeping rows are kept, and the task that prunes them in every process.

Idempotency keys answer retries for `idempotency_key_retention_hours` (SPEC: at least 24 hours);
inbox rows guard against a redelivered event for `inbox_retention_days`, far beyond JetStream's
one-hour duplicate window and the consumers' redelivery backoff (the ledgers' own unique keys
stay behind them for ever).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI

from kernel.background import run_every
from kernel.db import Database
from kernel.ids import utcnow
from kernel.schema import idempotency_keys, inbox

log = logging.getLogger("zhengban.retention")


async def prune(db: Database, *, keys_kept: timedelta, inbox_kept: timedelta,
                now: datetime | None = None) -> dict[str, int]:
    """Deletes idempotency keys and inbox rows older than they are kept; returns how many of each."""
    now = now or utcnow()
    async with db.session() as session:
        keys = await session.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.created_at < now - keys_kept))
        events = await session.execute(sa.delete(inbox).where(inbox.c.processed_at < now - inbox_kept))
        await session.commit()
    return {"idempotency_keys": keys.rowcount, "inbox": events.rowcount}


async def prune_forever(app: FastAPI) -> None:
    """Runs for the app's lifetime: prunes every `retention_prune_interval_seconds`."""
    settings = app.state.settings

    async def prune_once() -> None:
        pruned = await prune(app.state.db, keys_kept=timedelta(hours=settings.idempotency_key_retention_hours),
                             inbox_kept=timedelta(days=settings.inbox_retention_days))
        if any(pruned.values()):
            log.info("pruned %s", pruned)

    await run_every(settings.retention_prune_interval_seconds, prune_once,
                    what="pruning idempotency keys and inbox rows", log=log)
