"""Identifiers made where a record is created: UUIDv7, time-ordered and unique across nodes."""

from __future__ import annotations

import os
import time
import uuid


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b, 62 bits
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new UUIDv7 as the canonical lower-case string used in every table and message."""
    return str(uuid7())


_DERIVED = uuid.UUID("0193a4b2-7c00-7000-8000-59616f646f72")


def derived_id(parent: str, label: str) -> str:
    """An id fixed by its parent and a label, the same on every node that derives it.

    Used for rows a command makes as a consequence (the room charge of a night), so that
    re-running the command anywhere makes the same rows, and posting twice is noticed.
    """
    return str(uuid.uuid5(_DERIVED, f"{parent}/{label}"))


def human_number(prefix: str, seq: int) -> str:
    """A human-facing number (reservation, invoice) unique per node: ``TKY1-000042``."""
    return f"{prefix}-{seq:06d}"
