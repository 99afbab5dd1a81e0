"""Money is integer yen; every rounding to whole yen is explicit and named.

JPY has no minor unit, so amounts are plain ``int``. Rates and shares are ``Decimal``; the one
place where a ``Decimal`` becomes yen is :func:`round_yen`, which always names its rounding.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import Enum

Yen = int


class Rounding(Enum):
    """How a fraction of a yen becomes a whole yen (切り捨て, 切り上げ, 四捨五入, 銀行丸め)."""

    FLOOR = "floor"
    CEILING = "ceiling"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


_DECIMAL_MODE = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEILING: ROUND_CEILING,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


def round_yen(amount: Decimal, rounding: Rounding) -> Yen:
    """Round an exact amount to whole yen in the named direction."""
    return int(amount.quantize(Decimal(1), rounding=_DECIMAL_MODE[rounding]))
