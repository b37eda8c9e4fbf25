"""FastAPI dependencies every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.bounds import check_texts
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


def get_orgs(request: Request) -> OrgDirectory:
    return request.app.state.orgs


Session = Annotated[AsyncSession, Depends(get_session)]
Orgs = Annotated[OrgDirectory, Depends(get_orgs)]


class RequestSchema(BaseModel):
    """Request bodies refuse unknown fields (a typo is an error, not silently ignored), NaN and
    infinities, and control characters in any string; numbers and times take their bounds from
    `kernel.bounds`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _texts_without_control_characters(cls, data):
        return check_texts(data)


class ResponseSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)
