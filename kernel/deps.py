"""FastAPI dependencies every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.idempotency import current_claim
from kernel.orgs import OrgDirectory


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; use-cases commit it themselves, before the response is built. Under an
    Idempotency-Key the middleware owns it: it commits the work with the answer, then closes it."""
    claim = current_claim.get()
    if claim is not None:
        yield claim.open_session()
        return
    async with request.app.state.db.session() as session:
        yield session


# `async def`, though nothing is awaited: FastAPI runs a plain `def` dependency in a worker thread,
# a thread hop and a wake-up per request only to read an attribute (docs/performance.md, "Many
# pools in one batch"). The same for every dependency that only reads the app's state.
async def get_orgs(request: Request) -> OrgDirectory:
    return request.app.state.orgs


Session = Annotated[AsyncSession, Depends(get_session)]
Orgs = Annotated[OrgDirectory, Depends(get_orgs)]

