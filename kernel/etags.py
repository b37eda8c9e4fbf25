"""Optimistic concurrency over HTTP: an `ETag` on the GET of an object that people edit, and
`If-Match` on its PUT or PATCH, so that two people editing one object do not overwrite each
other silently (SPEC, "Operations and habits").

An object's ETag names the version of what a PUT or PATCH could overwrite: a line's last change,
a policy's own document and the one it inherits from, a pool's settings (not its seat counts,
which change with every allocation and which no PUT sets). The check itself happens inside the
write's transaction, against the version the write's compare-and-set also holds to, so two
writers holding one ETag cannot both pass."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Header, Response

from kernel.errors import PreconditionFailed, PreconditionRequired

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1000,
                                       description="The ETag of the object as last read: a write to a version "
                                                   "changed since answers 412.")]


def etag(*version: object) -> str:
    """A strong ETag for an object's version, given as the values that make it."""
    return '"' + hashlib.sha256(repr(version).encode()).hexdigest()[:32] + '"'


def with_etag(response: Response, tag: str) -> None:
    response.headers["ETag"] = tag


def check_if_match(if_match: str | None, current: str, *, required: bool = False) -> bool:
    """Refuses a write whose If-Match names another version (412), or that names none where one
    is required (428). Answers whether the write holds to the version read: not for `*` (any
    version, on purpose) nor without If-Match, where the write's compare-and-set need not
    insist on it."""
    if if_match is None:
        if required:
            raise PreconditionRequired("read the object first and send its ETag as If-Match")
        return False
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return False
    if current not in tags:
        raise PreconditionFailed("someone changed this object since you read it: read it again, then retry",
                                 etag=current)
    return True
