"""Identifiers and clocks."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime


def new_id() -> uuid.UUID:
    """Returns a time-ordered UUID (version 7), so ids sort by creation and keyset pages are cheap."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)
