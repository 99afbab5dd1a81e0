"""The fee quote of a stay: its lines per night, its accommodation tax and its invoice tax."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.accommodation_tax import Exemption, UnknownMunicipality
from yadori.domain.errors import InvalidInput
from yadori.domain.fees import (
    Extra,
    FeeKind,
    FeeLine,
    FeePolicy,
    NightPrice,
    Stay,
    StayQuote,
    quote_stay,
    taxable_amounts,
)
from yadori.domain.money import Rounding
from yadori.domain.taxes import TaxableAmount, TaxClass, invoice_tax

JUNE = date(2025, 6, 1)
STANDARD, REDUCED, NONE = TaxClass.STANDARD, TaxClass.REDUCED, TaxClass.NONE
TEN_PERCENT = FeePolicy(service_charge_rate=Decimal("0.10"))


def _stay(
    *prices: NightPrice, municipality: str = "tokyo", guests: int = 1, exempt_guests: int = 0
) -> Stay:
    return Stay(municipality, prices, guests, exempt_guests)


def _kinds(quote: StayQuote) -> list[FeeKind]:
    return [line.kind for line in quote.lines]


def test_a_plain_night_has_a_room_line_and_its_tax() -> None:
    """No service charge and no meals: a room line, an accommodation-tax line, the invoice."""
    quote = quote_stay(_stay(NightPrice(JUNE, 16500)))
    assert quote.lines == (
        FeeLine(FeeKind.ROOM, 16500, STANDARD, True, JUNE),
        FeeLine(FeeKind.ACCOMMODATION_TAX, 200, NONE, False, JUNE),
    )
    assert quote.nights[0].base_per_person == 15000
    assert (quote.total, quote.invoice.tax_total) == (16700, 1500)


def test_lines_of_a_night_with_meals_and_service_charge() -> None:
    """Meals get their own line and their own service charge, apart from the room's."""
    night = NightPrice(JUNE, 12000, meal=1100)
    quote = quote_stay(_stay(night), TEN_PERCENT)
    assert quote.lines == (
        FeeLine(FeeKind.ROOM, 10900, STANDARD, True, JUNE),
        FeeLine(FeeKind.MEAL, 1100, STANDARD, True, JUNE),
        FeeLine(FeeKind.SERVICE_CHARGE, 1090, STANDARD, True, JUNE, "room"),
        FeeLine(FeeKind.SERVICE_CHARGE, 110, STANDARD, True, JUNE, "meals"),
        FeeLine(FeeKind.ACCOMMODATION_TAX, 100, NONE, False, JUNE),
    )
    assert quote.nights[0].base_per_person == 10900


def test_a_reduced_rate_meal_is_taxed_at_8_percent() -> None:
    """A meal portion of the reduced class lands in the 8 % summary of the invoice."""
    night = NightPrice(JUNE, 6580, meal=1080, meal_tax_class=REDUCED)
    reduced = quote_stay(_stay(night)).invoice.for_class(REDUCED)
    assert reduced is not None
    assert (reduced.gross, reduced.tax) == (1080, 80)


def test_no_accommodation_tax_line_when_nothing_is_due() -> None:
    """Below the first tier the night has no accommodation-tax line at all."""
    assert _kinds(quote_stay(_stay(NightPrice(JUNE, 10999)))) == [FeeKind.ROOM]


def test_nights_are_quoted_in_date_order() -> None:
    """The quote lists nights by date whatever order the prices came in."""
    later, earlier = NightPrice(JUNE + timedelta(1), 9000), NightPrice(JUNE, 12000)
    quote = quote_stay(_stay(later, earlier))
    assert [n.night for n in quote.nights] == [JUNE, JUNE + timedelta(1)]


def test_extras_are_lines_without_service_charge_or_accommodation_tax() -> None:
    """An extra keeps its own tax class and description and adds to no base."""
    minibar = Extra("minibar water", 216, REDUCED, tax_included=True, night=JUNE)
    quote = quote_stay(replace(_stay(NightPrice(JUNE, 9999)), extras=(minibar,)), TEN_PERCENT)
    assert quote.extras == (FeeLine(FeeKind.EXTRA, 216, REDUCED, True, JUNE, "minibar water"),)
    assert quote.total_of(FeeKind.SERVICE_CHARGE) == 999
    assert quote.total_of(FeeKind.ACCOMMODATION_TAX) == 0


def test_exempt_guests_pay_only_where_the_exemption_is_honoured() -> None:
    """In Osaka two of three guests are exempt; in Tokyo the same claim changes nothing."""
    osaka = _stay(NightPrice(date(2025, 10, 1), 45000, False), municipality="osaka", guests=3)
    exempt = quote_stay(replace(osaka, exempt_guests=2))
    assert exempt.total_of(FeeKind.ACCOMMODATION_TAX) == 400
    tokyo = replace(osaka, municipality="tokyo", nights=(NightPrice(JUNE, 45000, False),))
    assert quote_stay(replace(tokyo, exempt_guests=3)).total_of(FeeKind.ACCOMMODATION_TAX) == 600


def test_an_exemption_of_none_changes_nothing() -> None:
    """Guests counted as exempt with no exemption reason pay like the others."""
    stay = _stay(NightPrice(date(2025, 10, 1), 20000, False), municipality="osaka", guests=2)
    claimed = replace(stay, exempt_guests=2, exemption=Exemption.NONE)
    assert quote_stay(claimed) == quote_stay(stay)


def test_the_quote_feeds_the_folio_invoice() -> None:
    """The quote's lines as taxable amounts give back the quote's own invoice."""
    night = NightPrice(JUNE, 13044, tax_included=False)
    quote = quote_stay(_stay(night), FeePolicy(Decimal("0.15"), Rounding.HALF_UP))
    amounts = taxable_amounts(quote)
    assert amounts[0] == TaxableAmount(13044, STANDARD, tax_included=False)
    assert invoice_tax(amounts) == quote.invoice


def test_the_tax_rounding_of_the_policy_is_used() -> None:
    """The policy's tax rounding reaches the invoice (9,995 excl: 999 floor, 1,000 half-up)."""
    stay = _stay(NightPrice(JUNE, 9995, tax_included=False))
    assert quote_stay(stay).invoice.tax_total == 999
    assert quote_stay(stay, FeePolicy(tax_rounding=Rounding.HALF_UP)).invoice.tax_total == 1000


def test_an_unknown_municipality_is_refused() -> None:
    """Quoting a stay in a municipality without rules is a domain error."""
    with pytest.raises(UnknownMunicipality):
        quote_stay(_stay(NightPrice(JUNE, 10000), municipality="atlantis"))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: FeePolicy(service_charge_rate=Decimal("-0.01")), "service_charge_rate"),
        (lambda: NightPrice(JUNE, -1), "amount"),
        (lambda: NightPrice(JUNE, 1000, meal=1001), "meal"),
        (lambda: NightPrice(JUNE, 1000, meal=-1), "meal"),
        (_stay, "nights"),
        (lambda: _stay(NightPrice(JUNE, 1), NightPrice(JUNE, 2)), "nights"),
        (lambda: _stay(NightPrice(JUNE, 1), guests=0), "guests"),
        (lambda: _stay(NightPrice(JUNE, 1), guests=2, exempt_guests=3), "exempt_guests"),
        (lambda: _stay(NightPrice(JUNE, 1), exempt_guests=-1), "exempt_guests"),
    ],
)
def test_impossible_inputs_are_refused(build: Callable[[], object], field: str) -> None:
    """Values that can never be right are refused at construction, naming the field."""
    with pytest.raises(InvalidInput) as caught:
        build()
    assert caught.value.facts["field"] == field


PRICES = st.integers(min_value=0, max_value=300_000)
NIGHTS = st.dates(min_value=date(2025, 8, 1), max_value=date(2026, 6, 30))
MUNICIPALITIES = st.sampled_from(["tokyo", "osaka", "kyoto", "none"])
RATES = st.sampled_from([Decimal(0), Decimal("0.10"), Decimal("0.15")])


@st.composite
def stays(draw: st.DrawFn) -> Stay:
    """A stay of one to five consecutive nights, with varied prices, guests and exemptions."""
    first, count = draw(NIGHTS), draw(st.integers(min_value=1, max_value=5))
    nights = tuple(
        NightPrice(first + timedelta(i), draw(PRICES), draw(st.booleans())) for i in range(count)
    )
    guests = draw(st.integers(min_value=1, max_value=6))
    exempt = draw(st.integers(min_value=0, max_value=guests))
    return Stay(draw(MUNICIPALITIES), nights, guests, exempt)


@given(stays(), RATES)
def test_the_total_is_the_invoice_of_the_lines(stay: Stay, rate: Decimal) -> None:
    """The grand total is the invoice total of the lines, and that is the sum of its rates."""
    quote = quote_stay(stay, FeePolicy(rate))
    assert quote.total == invoice_tax(taxable_amounts(quote)).total
    assert quote.total == sum(r.gross for r in quote.invoice.rates)


@given(stays(), RATES)
def test_each_night_is_taxed_on_its_own_date(stay: Stay, rate: Decimal) -> None:
    """A stay's accommodation tax is the sum of one-night quotes of its nights."""
    policy = FeePolicy(rate)
    whole = quote_stay(stay, policy).total_of(FeeKind.ACCOMMODATION_TAX)
    single = [quote_stay(replace(stay, nights=(n,)), policy) for n in stay.nights]
    assert whole == sum(q.total_of(FeeKind.ACCOMMODATION_TAX) for q in single)


@given(stays())
def test_exempting_a_guest_never_adds_tax(stay: Stay) -> None:
    """One more exempt guest never raises the accommodation tax."""
    if stay.exempt_guests < stay.guests:
        more = replace(stay, exempt_guests=stay.exempt_guests + 1)
        before = quote_stay(stay).total_of(FeeKind.ACCOMMODATION_TAX)
        assert quote_stay(more).total_of(FeeKind.ACCOMMODATION_TAX) <= before


@given(stays(), st.integers(min_value=0, max_value=50_000))
def test_a_dearer_room_never_costs_less(stay: Stay, rise: int) -> None:
    """Raising a night's price never lowers the grand total."""
    first = stay.nights[0]
    dearer = replace(stay, nights=(replace(first, amount=first.amount + rise), *stay.nights[1:]))
    assert quote_stay(dearer).total >= quote_stay(stay).total


@given(stays())
def test_a_higher_service_charge_never_costs_less(stay: Stay) -> None:
    """15 % of service charge never makes a stay cheaper than 10 %."""
    ten = quote_stay(stay, FeePolicy(Decimal("0.10")))
    fifteen = quote_stay(stay, FeePolicy(Decimal("0.15")))
    assert fifteen.total >= ten.total
