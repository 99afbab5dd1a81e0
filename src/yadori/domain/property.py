"""The hotel property: its time zone, business date, municipality and fee policy."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

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

    def advance_business_date(self) -> Property:
        """The night audit closes the day: the business date moves to the next day."""
        return replace(self, business_date=self.business_date + timedelta(days=1))
