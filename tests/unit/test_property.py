"""The hotel property: defaults for a Tokyo hotel, and the business date the audit advances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yadori.domain.money import Rounding
from yadori.domain.property import Property


def tokyo(business_date: date = date(2026, 12, 1)) -> Property:
    """A Tokyo hotel with the default fee policy."""
    return Property("p-1", "TKY1", "東京ホテル", "Tokyo Hotel", business_date)


def test_defaults_are_a_tokyo_hotel_without_service_charge() -> None:
    """A property defaults to Tokyo's rules, JST, no service charge, floor rounding."""
    prop = tokyo()
    assert (prop.municipality, prop.timezone) == ("tokyo", "Asia/Tokyo")
    assert prop.service_charge_rate == Decimal(0)
    assert prop.service_charge_rounding is Rounding.FLOOR
    assert prop.tax_rounding is Rounding.FLOOR


def test_night_audit_moves_the_business_date_by_one_day() -> None:
    """Closing the day advances the date by one and changes nothing else."""
    prop = tokyo()
    after = prop.advance_business_date()
    assert after.business_date == date(2026, 12, 2)
    assert (after.id, after.code, after.municipality) == (prop.id, prop.code, prop.municipality)
    assert prop.business_date == date(2026, 12, 1)


def test_business_date_crosses_month_and_year_ends() -> None:
    """New Year's Eve is followed by 1 January, and February by March."""
    assert tokyo(date(2026, 12, 31)).advance_business_date().business_date == date(2027, 1, 1)
    assert tokyo(date(2028, 2, 28)).advance_business_date().business_date == date(2028, 2, 29)
