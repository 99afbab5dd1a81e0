"""Canonical encoding and CRC32: the same bytes, and so the same checksum, on every node.

JSON with sorted keys, no insignificant whitespace, UTF-8, integers for money. Floats are
refused: money is integer yen and rates travel as decimal strings. Checksums are computed here
from values, never from database text (SQLite and PostgreSQL print values differently).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from enum import Enum
from typing import TypeAlias

import orjson

JSON: TypeAlias = bool | int | str | list["JSON"] | dict[str, "JSON"] | None


class NotCanonical(ValueError):
    """A value that has no canonical encoding (a float, a naive datetime, an unknown type)."""


def to_json(value: object) -> JSON:
    """Turn a value of the domain (dates, Decimals, enums, tuples) into plain JSON values."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise NotCanonical("floats have no canonical encoding: use int yen or a Decimal")
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise NotCanonical("naive datetimes are not allowed: use UTC")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        raise NotCanonical("bytes have no canonical encoding: encode them as text first")
    if isinstance(value, Sequence):
        return [to_json(v) for v in value]
    raise NotCanonical(f"no canonical encoding for {type(value).__name__}")


def decimal_text(value: Decimal) -> str:
    """One text per value: 0.1 and 0.10 are the same rate, so they encode the same.

    Only trailing zeros go: the value is normalised in a context as precise as its own
    digits and as wide as any exponent, never rounded to the default context's 28 digits nor
    clamped to its exponents.
    """
    if not value.is_finite():
        raise NotCanonical(f"{value} has no canonical encoding")
    exact = Context(prec=max(1, len(value.as_tuple().digits)), Emin=MIN_EMIN, Emax=MAX_EMAX)
    return format(value.normalize(exact), "f")


def _key(key: object) -> str:
    return str(key.value) if isinstance(key, Enum) else str(key)


def encode(value: object) -> bytes:
    """The canonical bytes of a value."""
    try:
        return orjson.dumps(to_json(value), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:  # an int beyond 64 bits, a lone surrogate
        raise NotCanonical(str(exc)) from exc


def encode_plain(value: object) -> bytes:
    """The canonical bytes of a value already made of plain JSON values (``to_json``'s output).

    The same bytes as ``encode`` without walking the value again: for the change feed, whose
    documents are built of converted rows.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise NotCanonical(str(exc)) from exc


def decode(data: bytes | str) -> JSON:
    """Parse canonical (or any) JSON back into plain values."""
    parsed: JSON = orjson.loads(data)
    return parsed


def crc32(value: object) -> int:
    """CRC32 (zlib's, not CRC-32C) of the canonical encoding of a value."""
    return zlib.crc32(encode(value))


def crc32_plain(value: object) -> int:
    """``crc32`` of a value already made of plain JSON values (see ``encode_plain``)."""
    return zlib.crc32(encode_plain(value))
