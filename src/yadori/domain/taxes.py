"""Japanese consumption tax on an invoice, by the qualified-invoice rule (適格請求書).

The tax is rounded **once per invoice per tax rate**, never per line. Each amount says whether
its price already includes the tax (内税) or not (外税). Within one rate, the exact tax of every
line is summed first and rounded once; the gross total of the rate is the tax-included amounts
plus the tax-excluded amounts plus their exact tax, rounded in the same direction. For a rate
whose lines are all tax-excluded that is exactly ``net + tax``; see
``docs/decisions/0004-invoice-tax-rounding.md`` for the mixed case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from yadori.domain.money import Rounding, Yen, round_yen


class TaxClass(Enum):
    """The consumption-tax class of a price."""

    STANDARD = "standard"  # 10 %: rooms, in-room dining, alcohol, services
    REDUCED = "reduced"  # 8 %: food and non-alcoholic drinks not eaten in (e.g. minibar water)
    NONE = "none"  # outside consumption tax: accommodation tax, payments, deposits


TAX_RATES: dict[TaxClass, Decimal] = {
    TaxClass.STANDARD: Decimal("0.10"),
    TaxClass.REDUCED: Decimal("0.08"),
    TaxClass.NONE: Decimal(0),
}


def rate_of(tax_class: TaxClass) -> Decimal:
    """The consumption-tax rate of a class, as a fraction (0.10 for 10 %)."""
    return TAX_RATES[tax_class]


@dataclass(frozen=True, slots=True)
class TaxableAmount:
    """An amount of yen with its tax class and whether the tax is already in it."""

    amount: Yen
    tax_class: TaxClass
    tax_included: bool


@dataclass(frozen=True, slots=True)
class RateSummary:
    """One tax rate's totals on an invoice: what the qualified invoice prints per rate."""

    tax_class: TaxClass
    rate: Decimal
    gross: Yen
    tax: Yen

    @property
    def net(self) -> Yen:
        """The amount of this rate without the tax."""
        return self.gross - self.tax


@dataclass(frozen=True, slots=True)
class InvoiceTax:
    """Per-rate summaries of one invoice, in a fixed order of tax classes."""

    rates: tuple[RateSummary, ...]

    @property
    def total(self) -> Yen:
        """What the guest pays for these amounts, tax included."""
        return sum(r.gross for r in self.rates)

    @property
    def tax_total(self) -> Yen:
        """All consumption tax on the invoice."""
        return sum(r.tax for r in self.rates)

    def for_class(self, tax_class: TaxClass) -> RateSummary | None:
        """The summary of one tax class, or None when the invoice has no such amount."""
        return next((r for r in self.rates if r.tax_class is tax_class), None)


def exact_tax(item: TaxableAmount) -> Decimal:
    """The unrounded consumption tax inside or on top of one amount."""
    rate = rate_of(item.tax_class)
    if item.tax_included:
        return Decimal(item.amount) * rate / (1 + rate)
    return Decimal(item.amount) * rate


def exact_net(item: TaxableAmount) -> Decimal:
    """The unrounded amount without consumption tax (what thresholds are compared with)."""
    if item.tax_included:
        return Decimal(item.amount) - exact_tax(item)
    return Decimal(item.amount)


def summarize_rate(
    tax_class: TaxClass, items: Iterable[TaxableAmount], rounding: Rounding
) -> RateSummary:
    """Total one tax rate of an invoice, rounding its tax once."""
    listed = list(items)
    included = sum(i.amount for i in listed if i.tax_included)
    excluded = sum(i.amount for i in listed if not i.tax_included)
    # Tax the two sums, not each line: summing per-line quotients (28 digits each) can land a
    # hair below a whole yen, which a floor then loses. One division per rate stays exact.
    included_tax = exact_tax(TaxableAmount(included, tax_class, tax_included=True))
    excluded_tax = exact_tax(TaxableAmount(excluded, tax_class, tax_included=False))
    gross = included + excluded + round_yen(excluded_tax, rounding)
    tax = round_yen(included_tax + excluded_tax, rounding)
    return RateSummary(tax_class, rate_of(tax_class), gross, tax)


def invoice_tax(items: Iterable[TaxableAmount], rounding: Rounding = Rounding.FLOOR) -> InvoiceTax:
    """Apply the qualified-invoice rule to every amount of one invoice."""
    listed = list(items)
    summaries = tuple(
        summarize_rate(tax_class, (i for i in listed if i.tax_class is tax_class), rounding)
        for tax_class in TaxClass
        if any(i.tax_class is tax_class for i in listed)
    )
    return InvoiceTax(summaries)
