"""Consumption tax by the qualified-invoice rule: rounded once per invoice per rate."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from yadori.domain.money import Rounding
from yadori.domain.taxes import (
    InvoiceTax,
    TaxableAmount,
    TaxClass,
    exact_net,
    exact_tax,
    invoice_tax,
    rate_of,
)

STANDARD, REDUCED, NONE = TaxClass.STANDARD, TaxClass.REDUCED, TaxClass.NONE
YEN = st.integers(min_value=0, max_value=10_000_000)
ROUNDINGS = st.sampled_from(list(Rounding))
CLASSES = st.sampled_from(list(TaxClass))
AMOUNTS = st.builds(TaxableAmount, YEN, CLASSES, st.booleans())
# Amounts whose included tax is whole yen at 10 % and at 8 %: where a hair of error would show.
WHOLE_TAX = st.builds(
    TaxableAmount, st.integers(0, 30_000).map(lambda k: k * 297), CLASSES, st.booleans()
)
Lines = list[tuple[int, TaxClass]]


def _tax(items: list[TaxableAmount], rounding: Rounding = Rounding.FLOOR) -> int:
    return invoice_tax(items, rounding).tax_total


@pytest.mark.parametrize(
    ("tax_class", "rate"), [(STANDARD, Decimal("0.10")), (REDUCED, Decimal("0.08")), (NONE, 0)]
)
def test_rates(tax_class: TaxClass, rate: Decimal) -> None:
    """Standard is 10 %, reduced 8 %, and amounts outside the tax carry none."""
    assert rate_of(tax_class) == rate


def test_exact_tax_of_an_excluded_price_is_on_top() -> None:
    """A tax-excluded price carries its rate on top, unrounded."""
    item = TaxableAmount(1005, STANDARD, tax_included=False)
    assert exact_tax(item) == Decimal("100.5")
    assert exact_net(item) == 1005


def test_exact_tax_of_an_included_price_is_inside() -> None:
    """A tax-included price holds rate / (1 + rate) of itself as tax."""
    item = TaxableAmount(1080, REDUCED, tax_included=True)
    assert exact_tax(item) == 80
    assert exact_net(item) == 1000


def test_an_empty_invoice_has_no_rates() -> None:
    """Nothing charged: no rate lines, nothing to pay, no tax."""
    empty = invoice_tax([])
    assert empty == InvoiceTax(())
    assert (empty.total, empty.tax_total) == (0, 0)
    assert empty.for_class(STANDARD) is None


def test_rates_come_in_a_fixed_order_with_their_totals() -> None:
    """Summaries follow the order of tax classes, whatever the order of the lines."""
    invoice = invoice_tax(
        [
            TaxableAmount(300, NONE, tax_included=False),
            TaxableAmount(216, REDUCED, tax_included=True),
            TaxableAmount(10000, STANDARD, tax_included=False),
        ]
    )
    assert [r.tax_class for r in invoice.rates] == [STANDARD, REDUCED, NONE]
    standard = invoice.for_class(STANDARD)
    assert standard is not None
    assert (standard.gross, standard.tax, standard.net) == (11000, 1000, 10000)
    assert (invoice.total, invoice.tax_total) == (11000 + 216 + 300, 1000 + 16)


def test_tax_is_rounded_once_per_rate_not_per_line() -> None:
    """Three lines of 10.5 yen tax make floor(31.5) = 31, not 3 × floor(10.5) = 30."""
    lines = [TaxableAmount(105, STANDARD, tax_included=False)] * 3
    assert _tax(lines) == 31
    assert invoice_tax(lines).total == 315 + 31


def test_mixed_included_and_excluded_lines_of_one_rate() -> None:
    """Tax sums both kinds exactly; gross adds the excluded lines' own tax, rounded the same way."""
    lines = [
        TaxableAmount(11000, STANDARD, tax_included=True),
        TaxableAmount(1005, STANDARD, tax_included=False),
    ]
    floor = invoice_tax(lines).rates[0]
    half_up = invoice_tax(lines, Rounding.HALF_UP).rates[0]
    assert (floor.gross, floor.tax) == (12105, 1100)
    assert (half_up.gross, half_up.tax) == (12106, 1101)


@pytest.mark.parametrize("rounding", list(Rounding))
def test_many_small_included_lines_keep_their_exact_tax(rounding: Rounding) -> None:
    """Eleven ¥2 lines hold exactly ¥2 of tax in every rounding (per-line quotients lost it)."""
    assert _tax([TaxableAmount(2, STANDARD, tax_included=True)] * 11, rounding) == 2
    assert _tax([TaxableAmount(1, STANDARD, tax_included=True)] * 11, rounding) == 1


def test_a_three_night_included_stay_keeps_its_exact_tax() -> None:
    """¥8,000 + ¥11,300 + ¥11,500 tax included hold exactly ¥2,800 of tax (old code: ¥2,799)."""
    nights = [TaxableAmount(a, STANDARD, tax_included=True) for a in (8000, 11300, 11500)]
    assert _tax(nights) == 2800


@given(st.lists(st.tuples(YEN, st.sampled_from([STANDARD, REDUCED])), max_size=8), ROUNDINGS)
def test_all_excluded_lines_pay_net_plus_tax(
    lines: list[tuple[int, TaxClass]], r: Rounding
) -> None:
    """For tax-excluded lines, each rate's net is the sum of its amounts and gross − net = tax."""
    invoice = invoice_tax([TaxableAmount(a, c, tax_included=False) for a, c in lines], r)
    for summary in invoice.rates:
        assert summary.net == sum(a for a, c in lines if c is summary.tax_class)
        assert summary.gross - summary.net == summary.tax


@given(st.lists(st.tuples(YEN, CLASSES), max_size=8), ROUNDINGS)
def test_all_included_lines_pay_their_prices(
    lines: list[tuple[int, TaxClass]], r: Rounding
) -> None:
    """For tax-included lines the guest pays exactly the prices; the tax is only shown."""
    invoice = invoice_tax([TaxableAmount(a, c, tax_included=True) for a, c in lines], r)
    assert invoice.total == sum(a for a, _ in lines)


@given(
    st.one_of(AMOUNTS, WHOLE_TAX),
    st.lists(st.integers(min_value=0, max_value=10_000_000), max_size=4),
    ROUNDINGS,
)
@example(TaxableAmount(11, STANDARD, tax_included=True), [1, 6], Rounding.FLOOR)
def test_splitting_a_line_never_changes_the_tax(
    item: TaxableAmount, cuts: list[int], rounding: Rounding
) -> None:
    """Rounding once per rate makes the tax blind to how a charge is split into lines."""
    bounds = [0, *sorted(c % (item.amount + 1) for c in cuts), item.amount]
    parts = [
        TaxableAmount(high - low, item.tax_class, item.tax_included)
        for low, high in pairwise(bounds)
    ]
    assert invoice_tax(parts, rounding) == invoice_tax([item], rounding)


@given(st.lists(AMOUNTS, max_size=6), AMOUNTS, ROUNDINGS)
def test_tax_is_monotone_in_the_amounts(
    items: list[TaxableAmount], extra: TaxableAmount, rounding: Rounding
) -> None:
    """Adding a line never lowers the tax or the total."""
    before, after = invoice_tax(items, rounding), invoice_tax([*items, extra], rounding)
    assert after.tax_total >= before.tax_total
    assert after.total >= before.total


@given(st.lists(AMOUNTS, max_size=8), ROUNDINGS)
def test_totals_are_the_sums_of_the_rates(items: list[TaxableAmount], rounding: Rounding) -> None:
    """The invoice's total and tax are the sums over its rates, one summary per class present."""
    invoice = invoice_tax(items, rounding)
    assert invoice.total == sum(r.gross for r in invoice.rates)
    assert invoice.tax_total == sum(r.tax for r in invoice.rates)
    assert {r.tax_class for r in invoice.rates} == {i.tax_class for i in items}


@given(st.lists(AMOUNTS, max_size=8), ROUNDINGS)
def test_each_rate_is_within_a_yen_of_its_exact_tax(
    items: list[TaxableAmount], rounding: Rounding
) -> None:
    """Each rate's tax is its exact tax rounded once: less than one yen away from it."""
    for summary in invoice_tax(items, rounding).rates:
        exact = sum(exact_tax(i) for i in items if i.tax_class is summary.tax_class)
        assert abs(summary.tax - exact) < 1
