"""The hotel property: its time zone, business date, municipality and fee policy."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from yadori.domain.errors import InvalidInput
from yadori.domain.limits import CODE, NAME, check_lengths
from yadori.domain.money import Rounding


@dataclass(frozen=True, slots=True)
class Property:
    """One hotel. The business date is advanced by the night audit, not by the calendar."""

    id: str
    code: str
    name_ja: str
    name_en: str
    business_date: date
    municipality: str = "tokyo"
    timezone: str = "Asia/Tokyo"
    service_charge_rate: Decimal = Decimal(0)
    service_charge_rounding: Rounding = Rounding.FLOOR
    tax_rounding: Rounding = Rounding.FLOOR

    def __post_init__(self) -> None:
        check_lengths(
            {
                "code": (self.code, CODE),
                "name_ja": (self.name_ja, NAME),
                "name_en": (self.name_en, NAME),
                "municipality": (self.municipality, 2 * CODE),
                "timezone": (self.timezone, 4 * CODE),
            }
        )
        if not self.code.strip():
            raise InvalidInput("a property needs a code", field="code")
        if self.service_charge_rate < 0:
            raise InvalidInput("a service charge cannot be negative", field="service_charge_rate")

    def advance_business_date(self) -> Property:
        """The night audit closes the day: the business date moves to the next day."""
        return replace(self, business_date=self.business_date + timedelta(days=1))
