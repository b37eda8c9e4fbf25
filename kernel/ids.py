"""Identifiers and clocks."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

_last = 0
_last_lock = threading.Lock()


def new_id() -> uuid.UUID:
    """Returns a time-ordered UUID (version 7), so ids sort by creation and keyset pages are cheap.
    Within one process ids strictly increase, also inside one millisecond: a history read page by
    page by id is in the order it was written."""
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    with _last_lock:
        if value <= _last:  # the same millisecond: one more than the previous id (its random bits)
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)
