"""Room-service inventory: a counter per item (DESIGN §5), the sum of every node's moves.

Stock is never stored as a number that nodes overwrite: each change is a **move** with a delta
(a restock +12, an order −2, its cancellation +2), appended where it happens and synced like
folio lines. The stock of an item is the sum of its moves, the same on every node once they
have the same moves. Where an order is taken, the local sum is checked first (R-OPS-8: the
real-time check works from the local copy); a merge that leaves the sum below zero is not
refused but reported as an oversell ticket, never a silent negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from yadori.domain.errors import InvalidInput
from yadori.domain.limits import TEXT, check_lengths
from yadori.domain.roomservice import OutOfStock

MAX_DELTA = 100_000


class StockReason(Enum):
    """Why the stock of an item moved."""

    RESTOCK = "restock"  # counted in (or out, after a recount) by staff
    ORDER = "order"  # taken by an order
    CANCEL = "cancel"  # given back by a cancelled order
    REDELIVER = "redeliver"  # taken again: a cancelled order was delivered after all


@dataclass(frozen=True, slots=True)
class StockMove:
    """One change of an item's stock, made where it happened."""

    id: str
    item_id: str
    delta: int
    reason: StockReason
    order_id: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        check_lengths({"note": (self.note, TEXT)})
        if self.delta == 0 or abs(self.delta) > MAX_DELTA:
            raise InvalidInput(f"a stock change is 1 to {MAX_DELTA} either way", field="delta")


def check_stock(item_id: str, on_hand: int, wanted: int) -> None:
    """Refuse to take more than the local count holds."""
    if wanted > on_hand:
        raise OutOfStock(
            f"only {max(on_hand, 0)} left", item=item_id, on_hand=on_hand, wanted=wanted
        )


def oversold(on_hand_after: int) -> bool:
    """Whether a merged stock broke the invariant (never below zero)."""
    return on_hand_after < 0
