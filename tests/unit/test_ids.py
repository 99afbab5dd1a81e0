"""Identifiers: UUIDv7 made where the record is created, and ids derived the same everywhere."""

from __future__ import annotations

import re
import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.ids import derived_id, human_number, new_id, uuid7

MAX_MS = 2**48 - 1
MILLIS = st.integers(min_value=0, max_value=MAX_MS)


@given(MILLIS)
def test_uuid7_has_version_7_and_rfc_variant(ms: int) -> None:
    """Every UUIDv7 carries version 7 and the RFC 9562 variant bits."""
    made = uuid7(ms)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == ms


@given(MILLIS, MILLIS)
def test_uuid7_sorts_by_millisecond(a: int, b: int) -> None:
    """Ids of different milliseconds sort by time, as integers and as strings."""
    first, second = uuid7(a), uuid7(b)
    if a < b:
        assert first < second
        assert str(first) < str(second)
    elif a > b:
        assert first > second


def test_uuid7_keeps_only_48_bits_of_milliseconds() -> None:
    """Milliseconds beyond 48 bits wrap instead of spilling into the version."""
    made = uuid7(2**48 + 5)
    assert (made.int >> 80, made.version) == (5, 7)


def test_uuid7_of_the_same_millisecond_differ() -> None:
    """74 random bits keep ids of one millisecond apart."""
    assert len({uuid7(1_700_000_000_000) for _ in range(100)}) == 100


def test_uuid7_defaults_to_the_current_time() -> None:
    """Without a time, the id carries the wall clock's milliseconds."""
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


def test_new_id_is_a_lower_case_uuid7_string() -> None:
    """new_id gives the canonical lower-case text of a fresh UUIDv7."""
    text = new_id()
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text
    )
    assert uuid.UUID(text).version == 7


def test_derived_id_is_deterministic() -> None:
    """The same parent and label give the same id, on any node, any time."""
    assert derived_id("res-1", "room/2026-12-01") == derived_id("res-1", "room/2026-12-01")
    assert uuid.UUID(derived_id("res-1", "x")).version == 5


@given(st.text(), st.text(), st.text(), st.text())
def test_derived_id_differs_when_parent_or_label_differ(p1: str, l1: str, p2: str, l2: str) -> None:
    """Different parent/label pairs give different ids."""
    if f"{p1}/{l1}" != f"{p2}/{l2}":
        assert derived_id(p1, l1) != derived_id(p2, l2)


def test_human_number_pads_to_six_digits() -> None:
    """Reservation numbers read like TKY1-000042, and grow past six digits when needed."""
    assert human_number("TKY1", 42) == "TKY1-000042"
    assert human_number("E", 1_234_567) == "E-1234567"
