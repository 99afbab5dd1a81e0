"""Room service: the menu, the price of an order (estimated, then confirmed), and its lifecycle.

Menu prices include the consumption tax (in-room dining is 10 %); each item keeps its tax class
so the 8 % cases can come later, and its own service-charge rate. An order's price is first
**estimated** where it was placed, from that place's copy of the menu, and then **confirmed** by
the PMS (the edge, and again central) from its own menu. Both are computed by
:func:`price_order`, with the rounding the bill uses. When they differ, a
:class:`PricePolicy` says what the guest is charged (by default the lower of the two).

An order is a state machine (accepted → preparing → delivering → delivered, or cancelled)
merged by lifecycle order, never by clock: a delivery made at the hotel beats a cancellation
made elsewhere.

Errors::

    UnknownMenuItem, UnknownOrder                      (NotFound)
    ItemUnavailable, OutOfStock, InvalidOrderTransition,
    StayNotInHouse, MenuOwnedByCentral                 (RuleViolation)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal
from enum import Enum

from yadori.domain.errors import InvalidInput, NotFound, RuleViolation
from yadori.domain.limits import CODE, NAME, TEXT, check_lengths
from yadori.domain.money import Rounding, Yen, round_yen
from yadori.domain.taxes import TaxClass

MAX_QUANTITY = 99
MAX_LINES = 50
MAX_PRICE = 10_000_000


class UnknownMenuItem(NotFound):
    """No menu item with that id at this property."""

    code = "unknown_menu_item"


class UnknownOrder(NotFound):
    """No room-service order with that id at this property."""

    code = "unknown_order"


class ItemUnavailable(RuleViolation):
    """The item is sold out or not served at this hour."""

    code = "item_unavailable"


class OutOfStock(RuleViolation):
    """Fewer portions left (by this node's count) than the order asks for."""

    code = "out_of_stock"


class InvalidOrderTransition(RuleViolation):
    """A step the order's status does not allow (e.g. preparing a delivered order)."""

    code = "invalid_order_transition"


class StayNotInHouse(RuleViolation):
    """Room service is charged to a stay: the stay must be checked in."""

    code = "stay_not_in_house"


class MenuOwnedByCentral(RuleViolation):
    """The menu is changed at central and synced to the hotels, never at an edge."""

    code = "menu_owned_by_central"


# --- the menu ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuCategory:
    """A heading of the menu (breakfast, mains, drinks), in both languages."""

    id: str
    code: str
    name_ja: str
    name_en: str
    position: int = 0

    def __post_init__(self) -> None:
        check_lengths(
            {
                "code": (self.code, CODE),
                "name_ja": (self.name_ja, NAME),
                "name_en": (self.name_en, NAME),
            }
        )
        if not self.code.strip() or not self.name_ja.strip() or not self.name_en.strip():
            raise InvalidInput("a category needs a code and names in Japanese and English")


@dataclass(frozen=True, slots=True)
class MenuItem:
    """A dish or drink: tax-included price, tax class, service charge, hours, allergens.

    ``available_from``/``available_until`` are local times of day (the property's time zone);
    a window may pass midnight (22:00–02:00). None on both means all day. ``track_stock`` makes
    the item a counted one (inventory, DESIGN §5 counter).
    """

    id: str
    category_id: str
    code: str
    name_ja: str
    name_en: str
    price: Yen
    tax_class: TaxClass = TaxClass.STANDARD
    service_charge_rate: Decimal = Decimal(0)
    available_from: time | None = None
    available_until: time | None = None
    allergens: tuple[str, ...] = ()
    sold_out: bool = False
    track_stock: bool = False
    previous_price: Yen | None = None

    def __post_init__(self) -> None:
        check_lengths(
            {
                "code": (self.code, CODE),
                "name_ja": (self.name_ja, NAME),
                "name_en": (self.name_en, NAME),
            }
        )
        if not self.code.strip() or not self.name_ja.strip() or not self.name_en.strip():
            raise InvalidInput("an item needs a code and names in Japanese and English")
        if not 0 <= self.price <= MAX_PRICE:
            raise InvalidInput(f"a price is between 0 and {MAX_PRICE} yen", field="price")
        if not Decimal(0) <= self.service_charge_rate <= Decimal(1):
            raise InvalidInput("a service charge is between 0 and 1", field="service_charge_rate")
        if (self.available_from is None) != (self.available_until is None):
            raise InvalidInput("give both ends of the serving hours, or neither", field="hours")
        for allergen in self.allergens:
            check_lengths({"allergens": (allergen, 2 * CODE)})

    def replacing(self, old: MenuItem | None) -> MenuItem:
        """This item as a change of ``old``: a new price keeps the one it replaces.

        The previous price is what a guest whose page cached the menu before the change may
        still be shown: an estimate at that price is honoured (see :meth:`recognises`).
        """
        if old is None:
            return replace(self, previous_price=None)
        if old.price == self.price:
            return replace(self, previous_price=old.previous_price)
        return replace(self, previous_price=old.price)

    def recognises(self, unit_price: Yen) -> bool:
        """Whether a price shown to a guest is this item's current or previous price."""
        return unit_price in (self.price, self.previous_price)

    def served_at(self, local: time) -> bool:
        """Whether the item is served at this local time of day."""
        start, end = self.available_from, self.available_until
        if start is None or end is None:
            return True
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # the window passes midnight

    def check_orderable(self, local: time) -> None:
        """Refuse an item that is sold out or not served now."""
        if self.sold_out:
            raise ItemUnavailable(f"{self.name_en} is sold out", item=self.id, reason="sold_out")
        if not self.served_at(local):
            raise ItemUnavailable(
                f"{self.name_en} is not served at {local:%H:%M}", item=self.id, reason="hours"
            )


# --- the price of an order --------------------------------------------------------------------


class PricePolicy(Enum):
    """What the guest is charged when the confirmed price differs from the estimate."""

    LOWER = "lower"  # the guest pays the lower of the two (the default)
    CONFIRMED = "confirmed"  # the PMS's price, always
    ESTIMATED = "estimated"  # the price the guest was shown, always

    def charge(self, estimated: Yen, confirmed: Yen) -> Yen:
        """The amount to charge under this policy."""
        if self is PricePolicy.CONFIRMED:
            return confirmed
        if self is PricePolicy.ESTIMATED:
            return estimated
        return min(estimated, confirmed)


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One line as priced: quantity times a tax-included unit price, with its rates."""

    quantity: int
    unit_price: Yen
    tax_class: TaxClass
    service_charge_rate: Decimal

    @property
    def amount(self) -> Yen:
        """Quantity times unit price."""
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class OrderPrice:
    """The price of an order: items, service charge, and what the guest pays (tax included)."""

    items: Yen
    service_charge: Yen
    tax_class: TaxClass

    @property
    def total(self) -> Yen:
        """Items plus service charge, tax included."""
        return self.items + self.service_charge


def price_order(lines: Iterable[PricedLine], rounding: Rounding = Rounding.FLOOR) -> OrderPrice:
    """Price an order the way the bill does.

    The service charge is taken on the tax-included amount of the lines of each rate, summed
    per rate and rounded once per rate (like the consumption tax on the invoice); it carries
    the lines' tax class. An order is one charge on the folio, so its lines share one tax
    class (mixed 8 %/10 % orders come later).
    """
    listed = list(lines)
    if not listed:
        raise InvalidInput("an order needs at least one line", field="lines")
    classes = {line.tax_class for line in listed}
    if len(classes) != 1:
        raise InvalidInput("an order's lines must share one tax class", field="lines")
    by_rate: dict[Decimal, Yen] = {}
    for line in listed:
        by_rate[line.service_charge_rate] = by_rate.get(line.service_charge_rate, 0) + line.amount
    service = sum(round_yen(Decimal(amount) * rate, rounding) for rate, amount in by_rate.items())
    return OrderPrice(sum(line.amount for line in listed), service, classes.pop())


# --- orders -----------------------------------------------------------------------------------


class OrderStatus(Enum):
    """Where an order is in the kitchen's flow."""

    ACCEPTED = "accepted"
    PREPARING = "preparing"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


ORDER_RANK: dict[OrderStatus, int] = {
    OrderStatus.ACCEPTED: 0,
    OrderStatus.PREPARING: 1,
    OrderStatus.DELIVERING: 2,
    OrderStatus.CANCELLED: 3,
    OrderStatus.DELIVERED: 4,
}
"""Merge order of an order's status: what happened in the room beats what was planned."""

FINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})


class OrderSource(Enum):
    """Who placed the order."""

    GUEST = "guest"  # the room-service page
    STAFF = "staff"  # the phone, taken by staff


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One dish of an order: names as ordered, the estimated and the confirmed unit price."""

    item_id: str
    name_ja: str
    name_en: str
    quantity: int
    estimated_unit_price: Yen
    unit_price: Yen
    tax_class: TaxClass
    service_charge_rate: Decimal

    def __post_init__(self) -> None:
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"a quantity is between 1 and {MAX_QUANTITY}", field="quantity")
        if not 0 <= self.estimated_unit_price <= MAX_PRICE:
            raise InvalidInput("an estimated price is not a price", field="estimated_unit_price")

    def priced(self, *, estimated: bool) -> PricedLine:
        """The line at its estimated or its confirmed unit price."""
        unit = self.estimated_unit_price if estimated else self.unit_price
        return PricedLine(self.quantity, unit, self.tax_class, self.service_charge_rate)


@dataclass(frozen=True, slots=True)
class Order:
    """A room-service order charged to a stay.

    ``estimated_total`` is what the guest was shown where the order was placed;
    ``confirmed_total`` what the PMS priced; ``charge`` what the folio gets under ``policy``.
    """

    id: str
    reservation_id: str
    folio_id: str
    room_number: str
    source: OrderSource
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    estimated_total: Yen
    confirmed_total: Yen
    policy: PricePolicy
    placed_at: datetime
    notes: str = ""
    deliver_at: datetime | None = None
    client_id: str = ""
    number: str = ""

    def __post_init__(self) -> None:
        check_lengths({"notes": (self.notes, TEXT), "client_id": (self.client_id, 2 * CODE)})
        if not self.lines or len(self.lines) > MAX_LINES:
            raise InvalidInput(f"an order has 1 to {MAX_LINES} lines", field="lines")

    @property
    def charge(self) -> Yen:
        """What the stay is charged for this order."""
        return self.policy.charge(self.estimated_total, self.confirmed_total)

    @property
    def price_changed(self) -> bool:
        """Whether the PMS confirmed a price other than the estimate."""
        return self.estimated_total != self.confirmed_total

    def advance(self, to: OrderStatus) -> Order:
        """Move the order forward (or cancel it); refuse a step back or out of a final status."""
        if self.status in FINAL or ORDER_RANK[to] <= ORDER_RANK[self.status]:
            raise InvalidOrderTransition(
                f"an order {self.status.value} cannot become {to.value}",
                order=self.id,
                current=self.status.value,
                to=to.value,
            )
        return replace(self, status=to)

    def merged(self, to: OrderStatus) -> Order:
        """The order after merging another node's step: the later in the lifecycle wins."""
        if ORDER_RANK[to] > ORDER_RANK[self.status]:
            return replace(self, status=to)
        return self


def order_price(lines: Iterable[OrderLine], rounding: Rounding, *, estimated: bool) -> OrderPrice:
    """The estimated or the confirmed price of an order's lines."""
    return price_order((line.priced(estimated=estimated) for line in lines), rounding)
