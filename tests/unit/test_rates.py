"""Rate plans: a base price per room type, overridden for particular nights."""

from __future__ import annotations

from datetime import date

import pytest

from yadori.domain.errors import InvalidInput, NoRateForNight
from yadori.domain.rates import RatePlan

XMAS = date(2026, 12, 24)
PLAIN = date(2026, 12, 1)


def plan(**changes: object) -> RatePlan:
    """The room-only plan: standard 12,000, twin 18,000, standard 30,000 on Christmas Eve."""
    fields: dict[str, object] = {
        "id": "rp-1",
        "code": "RO",
        "name_ja": "素泊まり",
        "name_en": "Room only",
        "base_prices": {"std": 12_000, "twn": 18_000},
        "overrides": {("std", XMAS): 30_000},
    }
    fields.update(changes)
    return RatePlan(**fields)  # type: ignore[arg-type]


def test_base_price_on_an_ordinary_night() -> None:
    """Without an override a night costs the plan's base price for the type."""
    assert plan().price("std", PLAIN) == 12_000
    assert plan().price("twn", XMAS) == 18_000


def test_override_wins_on_its_date_and_type() -> None:
    """Christmas Eve's standard room costs the override."""
    assert plan().price("std", XMAS) == 30_000


def test_zero_yen_override_is_a_price_not_a_missing_one() -> None:
    """A free night (0 yen override) is honoured, not replaced by the base price."""
    assert plan(overrides={("std", PLAIN): 0}).price("std", PLAIN) == 0


def test_override_alone_prices_a_type_without_base_price() -> None:
    """A type sold only on special dates has a price on those dates."""
    assert plan(base_prices={}).price("std", XMAS) == 30_000


def test_no_price_for_the_type_is_refused_naming_plan_and_night() -> None:
    """A type the plan does not sell has no rate that night."""
    with pytest.raises(NoRateForNight, match="RO has no price") as caught:
        plan().price("suite", PLAIN)
    assert caught.value.facts == {"rate_plan": "RO", "night": "2026-12-01"}


def test_defaults_are_tax_included_and_empty() -> None:
    """A bare plan is tax included and prices nothing."""
    bare = RatePlan("rp-2", "BB", "朝食付き", "Bed and breakfast")
    assert bare.tax_included is True
    assert (dict(bare.base_prices), dict(bare.overrides)) == ({}, {})


@pytest.mark.parametrize(
    "changes",
    [{"base_prices": {"std": -1}}, {"overrides": {("std", XMAS): -500}}],
    ids=["base", "override"],
)
def test_negative_price_is_refused(changes: dict[str, object]) -> None:
    """No price of a plan may be negative."""
    with pytest.raises(InvalidInput, match="RO has a negative price") as caught:
        plan(**changes)
    assert caught.value.facts == {"field": "price"}
