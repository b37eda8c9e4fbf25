"""Identifiers and clocks."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

# A UUID as people and tools write it: any case, with or without hyphens (in their places), in
# braces, or as a `urn:uuid:` URN. Anything else is not an id.
_SPELLING = re.compile(r"(?:urn:uuid:)?(\{)?([0-9a-f]{8})(-?)([0-9a-f]{4})\3([0-9a-f]{4})\3([0-9a-f]{4})\3"
                       r"([0-9a-f]{12})(?(1)\})", re.IGNORECASE)


def canonical_id(value: object) -> uuid.UUID:
    """The one UUID behind any spelling of it (SPEC Guarantees: one object, one row, whatever
    spelling its id came in); ValueError for anything else."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and (found := _SPELLING.fullmatch(value.strip())):
        return uuid.UUID("".join(found.group(2, 4, 5, 6, 7)))
    raise ValueError("a UUID is expected (for example 0190d2c4-7c1e-7a3b-9f00-2b6c0e4a1d55)")


def canonical_id_text(value: str) -> str | None:
    """`value` in the canonical spelling when it spells a UUID, else None."""
    try:
        return str(canonical_id(value))
    except ValueError:
        return None


# The type of every id the API takes, in a path, a query or a body: parsed into its canonical
# UUID at the edge, so that no spelling of an id makes a second row, seat, key or cache entry.
Id = Annotated[uuid.UUID, BeforeValidator(canonical_id), WithJsonSchema({"type": "string", "format": "uuid"})]
# The same, for an id kept as text (a user named by its token subject, say): its canonical spelling.
IdText = Annotated[str, BeforeValidator(lambda value: str(canonical_id(value))),
                   WithJsonSchema({"type": "string", "format": "uuid"})]

_last = 0
_last_lock = threading.Lock()


def new_id() -> uuid.UUID:
    """Returns a time-ordered UUID (version 7), so ids sort by creation and keyset pages are cheap.
    Within one process ids strictly increase, also inside one millisecond: a history read page by
    page by id is in the order it was written."""
    return new_ids(1)[0]


def new_ids(count: int) -> list[uuid.UUID]:
    """Returns `count` ids as as many calls of new_id() within one millisecond would: a random one,
    then each one more than the one before (a bulk allocation takes three per seat)."""
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 61) - 1)  # 61 random bits: adding `count` never reaches the variant's
    with _last_lock:
        if value <= _last:  # the same millisecond: one more than the previous id (its random bits)
            value = _last + 1
        _last = value + count - 1
    return [_uuid(n) for n in range(value, value + count)]


def _uuid(value: int) -> uuid.UUID:
    # uuid.UUID(int=…) checks its range and arguments, a third of the time of a bulk's ids; these
    # values are in range by construction, so the two slots are set as its __init__ sets them.
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made


# SafeUUID.unknown looked up once: an enum member read through its class is a property call, which
# was a tenth of a bulk allocation's id-making.
_new, _set, _UNKNOWN = object.__new__, object.__setattr__, uuid.SafeUUID.unknown


def utcnow() -> datetime:
    return datetime.now(UTC)
