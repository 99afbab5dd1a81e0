"""Every case of the hand-checked golden fee table (tests/golden/fees.toml) quotes as written."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yadori.domain.accommodation_tax import Exemption
from yadori.domain.fees import (
    Extra,
    FeeKind,
    FeePolicy,
    NightPrice,
    Stay,
    StayQuote,
    quote_stay,
)
from yadori.domain.money import Rounding
from yadori.domain.taxes import TaxClass

GOLDEN = Path(__file__).parents[1] / "golden" / "fees.toml"
CASES = tomllib.loads(GOLDEN.read_text(encoding="utf-8"))["case"]


def _night(row: dict[str, Any]) -> NightPrice:
    return NightPrice(
        night=row["night"],
        amount=row["amount"],
        tax_included=row["tax_included"],
        meal=row.get("meal", 0),
        meal_tax_class=TaxClass(row.get("meal_tax_class", "standard")),
    )


def _extra(row: dict[str, Any]) -> Extra:
    return Extra(
        description=str(row["description"]),
        amount=row["amount"],
        tax_class=TaxClass(row["tax_class"]),
        tax_included=row["tax_included"],
    )


def _stay(case: dict[str, Any]) -> Stay:
    return Stay(
        municipality=str(case["municipality"]),
        nights=tuple(_night(n) for n in case["nights"]),
        guests=case.get("guests", 1),
        exempt_guests=case.get("exempt_guests", 0),
        exemption=Exemption(case.get("exemption", "school_trip")),
        extras=tuple(_extra(e) for e in case.get("extras", [])),
    )


def _policy(case: dict[str, Any]) -> FeePolicy:
    return FeePolicy(
        service_charge_rate=Decimal(str(case.get("service_charge_rate", "0"))),
        service_charge_rounding=Rounding(case.get("service_charge_rounding", "floor")),
        tax_rounding=Rounding(case.get("tax_rounding", "floor")),
    )


def _observed(quote: StayQuote) -> dict[str, Any]:
    standard = quote.invoice.for_class(TaxClass.STANDARD)
    reduced = quote.invoice.for_class(TaxClass.REDUCED)
    return {
        "room": quote.total_of(FeeKind.ROOM),
        "meal": quote.total_of(FeeKind.MEAL),
        "service_charge": quote.total_of(FeeKind.SERVICE_CHARGE),
        "extras": quote.total_of(FeeKind.EXTRA),
        "accommodation_tax": quote.total_of(FeeKind.ACCOMMODATION_TAX),
        "tax_standard": standard.tax if standard else 0,
        "tax_reduced": reduced.tax if reduced else 0,
        "total": quote.total,
        "accommodation_tax_by_night": [
            sum(li.amount for li in n.lines if li.kind is FeeKind.ACCOMMODATION_TAX)
            for n in quote.nights
        ],
    }


def test_the_table_is_large_and_explained() -> None:
    """The table holds at least 45 cases, each with a unique id and a one-line reason."""
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 45
    assert len(set(ids)) == len(ids)
    assert all(case["reason"].strip() and "\n" not in case["reason"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    """The quote of the case matches the hand-checked expectation (absent amounts are 0)."""
    expected = dict(case["expected"])
    observed = _observed(quote_stay(_stay(case), _policy(case)))
    if "accommodation_tax_by_night" not in expected:
        del observed["accommodation_tax_by_night"]
    defaults = {"meal": 0, "service_charge": 0, "extras": 0, "tax_reduced": 0}
    assert observed == {**defaults, **expected}, case["reason"]
