"""The fee quote of a stay: room, meals, service charge, accommodation tax and consumption tax.

Pure functions with named rounding. Each night's price is taken as given (rate plans choose it
elsewhere). The service charge is a share of the night's price, carries the price's tax
inclusion and the standard consumption-tax rate, and is rounded per night in the policy's
direction, apart on the room and on the meals. The accommodation tax of a night uses that
night's own date and the exact per-person base: the room-only part of the price (meals taken
out) plus the service charge on it, consumption tax excluded, divided by the number of guests,
never rounded before it meets a threshold. The consumption tax is computed once over the whole
quote by the qualified-invoice rule (:func:`yadori.domain.taxes.invoice_tax`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from yadori.domain.accommodation_tax import Exemption, rules_for
from yadori.domain.errors import InvalidInput
from yadori.domain.money import Rounding, Yen, round_yen
from yadori.domain.taxes import InvoiceTax, TaxableAmount, TaxClass, invoice_tax, rate_of


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """How a property charges: its service-charge rate and its two roundings."""

    service_charge_rate: Decimal = Decimal(0)
    service_charge_rounding: Rounding = Rounding.FLOOR
    tax_rounding: Rounding = Rounding.FLOOR

    def __post_init__(self) -> None:
        if self.service_charge_rate < 0:
            raise InvalidInput("a service charge cannot be negative", field="service_charge_rate")


@dataclass(frozen=True, slots=True)
class NightPrice:
    """The price of the room for one night (all guests), and the meals it includes."""

    night: date
    amount: Yen
    tax_included: bool = True
    meal: Yen = 0  # the part of ``amount`` that pays for meals, with the same tax inclusion
    meal_tax_class: TaxClass = TaxClass.STANDARD

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise InvalidInput(f"the price of {self.night} cannot be negative", field="amount")
        if not 0 <= self.meal <= self.amount:
            raise InvalidInput(
                f"the meals of {self.night} must be between 0 and the night's price", field="meal"
            )

    @property
    def room_only(self) -> Yen:
        """The part of the price that pays for the room itself (素泊まり)."""
        return self.amount - self.meal


@dataclass(frozen=True, slots=True)
class Extra:
    """A charge outside the room price (a minibar item, a taxi): no service charge on it."""

    description: str
    amount: Yen
    tax_class: TaxClass
    tax_included: bool = True
    night: date | None = None


@dataclass(frozen=True, slots=True)
class Stay:
    """What a quote needs to know about a stay: where, which nights at what price, and who."""

    municipality: str
    nights: tuple[NightPrice, ...]
    guests: int = 1
    exempt_guests: int = 0
    exemption: Exemption = Exemption.SCHOOL_TRIP
    extras: tuple[Extra, ...] = ()

    def __post_init__(self) -> None:
        dates = [n.night for n in self.nights]
        if not dates or len(set(dates)) != len(dates):
            raise InvalidInput("a stay needs one price for each of its nights", field="nights")
        if self.guests < 1:
            raise InvalidInput("a stay has at least one guest", field="guests")
        if not 0 <= self.exempt_guests <= self.guests:
            raise InvalidInput(
                "exempt guests must be between 0 and the number of guests", field="exempt_guests"
            )

    @property
    def taxed_guests(self) -> int:
        """The guests who pay accommodation tax whatever the exemption rules say."""
        return self.guests - self.exempt_guests


class FeeKind(Enum):
    """What a line of a quote charges for."""

    ROOM = "room"
    MEAL = "meal"
    SERVICE_CHARGE = "service_charge"
    ACCOMMODATION_TAX = "accommodation_tax"
    EXTRA = "extra"


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One line of a quote: an amount of yen with its consumption-tax class and inclusion."""

    kind: FeeKind
    amount: Yen
    tax_class: TaxClass
    tax_included: bool
    night: date | None = None
    description: str = ""

    def taxable(self) -> TaxableAmount:
        """Return this line as an amount for the invoice's consumption tax."""
        return TaxableAmount(self.amount, self.tax_class, self.tax_included)


@dataclass(frozen=True, slots=True)
class NightQuote:
    """One night of a quote: its lines and the base its accommodation tax was found from."""

    night: date
    base_per_person: Decimal
    lines: tuple[FeeLine, ...]


@dataclass(frozen=True, slots=True)
class StayQuote:
    """The quote of a stay: the lines of every night, the extras, and the invoice's tax."""

    nights: tuple[NightQuote, ...]
    extras: tuple[FeeLine, ...]
    invoice: InvoiceTax

    @property
    def lines(self) -> tuple[FeeLine, ...]:
        """Every line, night by night, then the extras."""
        return (*(line for n in self.nights for line in n.lines), *self.extras)

    @property
    def total(self) -> Yen:
        """What the guest pays, every tax included."""
        return self.invoice.total

    def total_of(self, kind: FeeKind) -> Yen:
        """Return the sum of the lines of one kind, as charged (with or without tax)."""
        return sum(line.amount for line in self.lines if line.kind is kind)


def quote_stay(stay: Stay, policy: FeePolicy | None = None) -> StayQuote:
    """Quote a stay: every night's lines, the extras and the invoice's consumption tax."""
    fees = policy or FeePolicy()
    nights = tuple(quote_night(price, stay, fees) for price in sorted_nights(stay))
    extras = tuple(extra_line(extra) for extra in stay.extras)
    lines = (*(line for n in nights for line in n.lines), *extras)
    return StayQuote(nights, extras, invoice_tax((li.taxable() for li in lines), fees.tax_rounding))


def sorted_nights(stay: Stay) -> tuple[NightPrice, ...]:
    """Return the nights of a stay in date order."""
    return tuple(sorted(stay.nights, key=lambda n: n.night))


def quote_night(price: NightPrice, stay: Stay, policy: FeePolicy) -> NightQuote:
    """Quote one night: room, meals, service charge and accommodation tax."""
    base = accommodation_tax_base(price, service_charge(price.room_only, policy), stay.guests)
    lines = (
        *room_lines(price),
        *service_charge_lines(price, policy),
        *accommodation_tax_lines(price.night, base, stay),
    )
    return NightQuote(price.night, base, lines)


def room_lines(price: NightPrice) -> tuple[FeeLine, ...]:
    """Split a night's price into its room-only line and, when it has one, its meal line."""
    room = FeeLine(
        FeeKind.ROOM, price.room_only, TaxClass.STANDARD, price.tax_included, price.night
    )
    if not price.meal:
        return (room,)
    meal = FeeLine(FeeKind.MEAL, price.meal, price.meal_tax_class, price.tax_included, price.night)
    return (room, meal)


def service_charge(amount: Yen, policy: FeePolicy) -> Yen:
    """Return the service charge on an amount, rounded in the policy's direction."""
    return round_yen(Decimal(amount) * policy.service_charge_rate, policy.service_charge_rounding)


def service_charge_lines(price: NightPrice, policy: FeePolicy) -> tuple[FeeLine, ...]:
    """Return a night's service charge: one line on the room, one on the meals if any.

    Kept apart so that the room's part, which belongs to the accommodation-tax base, is an
    amount actually charged.
    """
    if not policy.service_charge_rate:
        return ()
    room = _service_line(service_charge(price.room_only, policy), price, "room")
    if not price.meal:
        return (room,)
    return (room, _service_line(service_charge(price.meal, policy), price, "meals"))


def _service_line(amount: Yen, price: NightPrice, description: str) -> FeeLine:
    return FeeLine(
        FeeKind.SERVICE_CHARGE,
        amount,
        TaxClass.STANDARD,
        price.tax_included,
        price.night,
        description,
    )


def accommodation_tax_base(price: NightPrice, room_service_charge: Yen, guests: int) -> Decimal:
    """Return one person's exact accommodation-tax base for a night.

    The room-only part of the price plus its service charge, as charged, without consumption
    tax, divided by the guests. It is one division, so a base that is exactly a threshold stays
    exactly that threshold.
    """
    charged = Decimal(price.room_only + room_service_charge)
    tax_factor = 1 + rate_of(TaxClass.STANDARD) if price.tax_included else Decimal(1)
    return charged / (tax_factor * guests)


def accommodation_tax_lines(night: date, base: Decimal, stay: Stay) -> tuple[FeeLine, ...]:
    """Return the night's accommodation-tax line for all guests, or none when nothing is due."""
    rules = rules_for(stay.municipality)
    taxed = rules.tax_per_person(night, base) * stay.taxed_guests
    exempt = rules.tax_per_person(night, base, stay.exemption) * stay.exempt_guests
    if not taxed + exempt:
        return ()
    return (FeeLine(FeeKind.ACCOMMODATION_TAX, taxed + exempt, TaxClass.NONE, False, night),)


def extra_line(extra: Extra) -> FeeLine:
    """Return an extra charge as a line of the quote."""
    return FeeLine(
        FeeKind.EXTRA,
        extra.amount,
        extra.tax_class,
        extra.tax_included,
        extra.night,
        extra.description,
    )


def taxable_amounts(quote: StayQuote) -> tuple[TaxableAmount, ...]:
    """Return every line of a quote as amounts the folio's invoice tax can reuse."""
    return tuple(line.taxable() for line in quote.lines)
