"""Rate plans: a price per room type per night, with overrides for particular dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from yadori.domain.errors import InvalidInput, NoRateForNight
from yadori.domain.limits import CODE, NAME, check_lengths
from yadori.domain.money import Yen


@dataclass(frozen=True, slots=True)
class RatePlan:
    """A way a room is sold (room only, with breakfast …) and its nightly prices."""

    id: str
    code: str
    name_ja: str
    name_en: str
    tax_included: bool = True
    base_prices: Mapping[str, Yen] = field(default_factory=dict)
    overrides: Mapping[tuple[str, date], Yen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_lengths(
            {
                "code": (self.code, 2 * CODE),
                "name_ja": (self.name_ja, NAME),
                "name_en": (self.name_en, NAME),
            }
        )
        prices = [*self.base_prices.values(), *self.overrides.values()]
        if any(p < 0 for p in prices):
            raise InvalidInput(f"rate plan {self.code} has a negative price", field="price")

    def price(self, room_type_id: str, night: date) -> Yen:
        """The price of one night: the date's override if any, else the plan's base price."""
        override = self.overrides.get((room_type_id, night))
        if override is not None:
            return override
        if room_type_id not in self.base_prices:
            raise NoRateForNight(
                f"rate plan {self.code} has no price for that room type on {night}",
                rate_plan=self.code,
                night=night.isoformat(),
            )
        return self.base_prices[room_type_id]
