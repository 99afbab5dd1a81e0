"""Canonical encoding: the same bytes, and so the same CRC32, for the same values on any node."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.money import Rounding
from yadori.sync.canonical import (
    NotCanonical,
    crc32,
    decimal_text,
    decode,
    encode,
    encode_plain,
    to_json,
)


class Colour(Enum):
    """A string-valued enum, as the domain's enums are."""

    RED = "red"


class Lane(IntEnum):
    """An integer-valued enum, as mutation priorities are."""

    FIRST = 0


SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    """Keys come out sorted at every depth, with no spaces or newlines."""
    value = {"b": 1, "a": {"z": [1, 2], "y": None}, "c": True}
    assert encode(value) == b'{"a":{"y":null,"z":[1,2]},"b":1,"c":true}'


def test_insertion_order_does_not_change_the_bytes() -> None:
    """Two nodes that built the same mapping in different orders agree."""
    one = OrderedDict([("x", 1), ("y", 2)])
    two = OrderedDict([("y", 2), ("x", 1)])
    assert encode(one) == encode(two)
    assert crc32(one) == crc32(two)


def test_text_is_utf8_not_escaped() -> None:
    """Japanese text is written as UTF-8 bytes, not \\u escapes."""
    assert encode("宿泊") == '"宿泊"'.encode()


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), [1, 2.5], {"rate": 0.1}])
def test_floats_are_refused_wherever_they_are(value: object) -> None:
    """A float anywhere in the value has no canonical encoding."""
    with pytest.raises(NotCanonical, match="floats"):
        encode(value)


def test_naive_datetime_is_refused() -> None:
    """A datetime without a time zone is refused: times travel in UTC."""
    with pytest.raises(NotCanonical, match="naive"):
        to_json(datetime(2026, 12, 1, 9, 0))  # noqa: DTZ001 - the naive value under test


def test_aware_datetime_is_iso_8601_in_utc() -> None:
    """An aware datetime travels in UTC, so the same instant has one encoding."""
    assert to_json(datetime(2026, 12, 1, 0, 0, 5, tzinfo=UTC)) == "2026-12-01T00:00:05+00:00"
    jst = timezone(timedelta(hours=9))
    assert to_json(datetime(2026, 12, 1, 9, 0, tzinfo=jst)) == "2026-12-01T00:00:00+00:00"


def test_equal_decimals_encode_the_same() -> None:
    """0.1 and 0.10 are the same rate and have the same bytes (and so the same CRC)."""
    assert encode(Decimal("0.1")) == encode(Decimal("0.10")) == b'"0.1"'
    assert encode(Decimal("1E+2")) == b'"100"'
    with pytest.raises(NotCanonical):
        encode(Decimal("NaN"))


@given(
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=45),
    st.integers(-45, 20),
    st.integers(0, 12),
)
def test_a_decimal_text_is_exact_and_the_same_with_trailing_zeros(
    sign: int, digits: list[int], exponent: int, zeros: int
) -> None:
    """Any number of digits (beyond the default context's 28 too) reads back as the same value,
    and the value written with more trailing zeros has the same text."""
    value = Decimal((sign, tuple(digits), exponent))
    text = decimal_text(value)
    assert Decimal(text) == value
    assert "E" not in text
    padded = Decimal((sign, (*digits, *[0] * zeros), exponent - zeros))
    assert padded == value
    assert decimal_text(padded) == text


def test_a_long_decimal_is_not_rounded() -> None:
    """40 significant digits stay 40, and an exponent past the default context's stays too:
    a value is never cut to fit a context."""
    value = Decimal("0." + "1" * 40)
    assert decimal_text(value) == "0." + "1" * 40
    tiny = decimal_text(Decimal("1E-1000000"))
    assert Decimal(tiny) == Decimal("1E-1000000")


def test_bytes_and_enum_keys() -> None:
    """Bytes are refused; enum keys of a mapping encode as their value."""
    with pytest.raises(NotCanonical):
        encode(b"raw")
    assert to_json({Rounding.FLOOR: 1}) == {"floor": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 12, 1), "2026-12-01"),
        (Decimal("0.10"), "0.1"),
        (Decimal(0), "0"),
        (Decimal("-12.5"), "-12.5"),
        (Colour.RED, "red"),
        (Lane.FIRST, 0),
        ((1, "a", None), [1, "a", None]),
        ([date(2026, 1, 2), (Decimal(1),)], ["2026-01-02", ["1"]]),
        ({1: "one", "k": Colour.RED}, {"1": "one", "k": "red"}),
        (True, True),
        (None, None),
        ("", ""),
        (-(2**63), -(2**63)),
    ],
)
def test_domain_values_become_plain_json(value: object, expected: object) -> None:
    """Dates, Decimals, enums, tuples and mappings have one plain JSON form each."""
    assert to_json(value) == expected


def test_bool_stays_bool_not_int() -> None:
    """True is encoded as true, not 1."""
    assert encode([True, 1, False, 0]) == b"[true,1,false,0]"


@pytest.mark.parametrize("value", [{1, 2}, frozenset(), object(), complex(1, 2)])
def test_unknown_types_are_refused(value: object) -> None:
    """Sets (no order) and arbitrary objects have no canonical encoding."""
    with pytest.raises(NotCanonical, match="no canonical encoding"):
        to_json(value)


def test_crc32_is_zlib_crc32_of_the_canonical_bytes() -> None:
    """The checksum is zlib's CRC32 (not CRC-32C) of exactly the encoded bytes."""
    value = {"amount": 12_000, "night": date(2026, 12, 1), "rate": Decimal("0.10")}
    assert crc32(value) == zlib.crc32(b'{"amount":12000,"night":"2026-12-01","rate":"0.1"}')


def test_crc32_known_value() -> None:
    """A fixed value has a fixed checksum on every node and every version."""
    assert crc32({"a": 1}) == 0x561BACAF


@given(VALUES)
def test_crc32_equals_zlib_of_encode(value: object) -> None:
    """For any JSON value, crc32 is zlib.crc32 of encode."""
    assert crc32(value) == zlib.crc32(encode(value))


@given(VALUES)
def test_encode_decode_round_trip(value: object) -> None:
    """Plain JSON values come back equal after encode then decode."""
    assert decode(encode(value)) == value


@given(VALUES)
def test_encoding_is_idempotent(value: object) -> None:
    """Re-encoding decoded canonical bytes gives the same bytes."""
    data = encode(value)
    assert encode(decode(data)) == data


NO_SPACE_TEXT = st.text(st.characters(blacklist_categories=("Zs", "Cs")))


@given(
    st.recursive(
        st.integers(-(2**63), 2**63 - 1) | NO_SPACE_TEXT,
        lambda inner: st.lists(inner) | st.dictionaries(st.text("abc"), inner),
        max_leaves=12,
    )
)
def test_no_insignificant_whitespace(value: object) -> None:
    """Without spaces in the text itself, the encoding holds no whitespace at all."""
    assert not set(encode(value).decode()) & {" ", "\t", "\n", "\r"}


def test_decode_accepts_text_and_bytes() -> None:
    """Stored JSON can be read back from a str column or bytes."""
    assert decode('{"a":[1,null]}') == decode(b'{"a":[1,null]}') == {"a": [1, None]}


def test_integer_beyond_64_bits_is_not_canonical() -> None:
    """An integer too large for the wire format is refused as NotCanonical."""
    with pytest.raises(NotCanonical):
        encode(2**64)


def test_text_that_is_not_utf8_is_not_canonical() -> None:
    """A string with a lone surrogate has no UTF-8 bytes and is refused as NotCanonical."""
    with pytest.raises(NotCanonical):
        encode("\ud800")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_encode_plain_is_encode_for_plain_json(value: object) -> None:
    """The feed's shortcut gives the same bytes, so the same CRC, as the full walk."""
    assert encode_plain(value) == encode(value)
