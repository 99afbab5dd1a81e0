"""Whole-yen rounding: every direction is named, and each behaves as its Japanese name says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.money import Rounding, round_yen

EXACT = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False)


@pytest.mark.parametrize(
    ("amount", "rounding", "expected"),
    [
        ("2.5", Rounding.FLOOR, 2),
        ("2.5", Rounding.CEILING, 3),
        ("2.5", Rounding.HALF_UP, 3),
        ("2.5", Rounding.HALF_EVEN, 2),
        ("3.5", Rounding.HALF_EVEN, 4),
        ("2.4", Rounding.HALF_UP, 2),
        ("2.01", Rounding.CEILING, 3),
        ("2.99", Rounding.FLOOR, 2),
        ("-2.5", Rounding.FLOOR, -3),
        ("-2.5", Rounding.CEILING, -2),
        ("-2.5", Rounding.HALF_UP, -3),
        ("-2.5", Rounding.HALF_EVEN, -2),
    ],
)
def test_round_yen_table(amount: str, rounding: Rounding, expected: int) -> None:
    """Each named rounding turns a fraction of a yen into the whole yen it promises."""
    assert round_yen(Decimal(amount), rounding) == expected


@pytest.mark.parametrize("rounding", list(Rounding))
def test_whole_yen_are_left_alone(rounding: Rounding) -> None:
    """An amount that is already whole yen comes back unchanged, as an int."""
    result = round_yen(Decimal("1234.000"), rounding)
    assert result == 1234
    assert type(result) is int


@given(EXACT, st.sampled_from(list(Rounding)))
def test_rounding_moves_less_than_one_yen(amount: Decimal, rounding: Rounding) -> None:
    """No rounding moves an amount by a whole yen or more."""
    assert abs(round_yen(amount, rounding) - amount) < 1


@given(EXACT)
def test_floor_and_ceiling_bracket_the_amount(amount: Decimal) -> None:
    """Floor is at or below the amount, ceiling at or above, and they differ by at most one."""
    low, high = round_yen(amount, Rounding.FLOOR), round_yen(amount, Rounding.CEILING)
    assert low <= amount <= high
    assert high - low in {0, 1}


@given(EXACT)
def test_half_roundings_agree_off_the_half(amount: Decimal) -> None:
    """Half-up and half-even differ only on an exact half yen."""
    if amount % 1 not in {Decimal("0.5"), Decimal("-0.5")}:
        assert round_yen(amount, Rounding.HALF_UP) == round_yen(amount, Rounding.HALF_EVEN)
