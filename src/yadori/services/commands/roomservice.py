"""Room-service commands: the menu, the price policy, stock, orders and guest tokens."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from yadori.domain.money import Yen
from yadori.domain.roomservice import OrderSource, OrderStatus, PricePolicy
from yadori.domain.taxes import TaxClass
from yadori.services.commands.base import Command
from yadori.sync.mutation import Priority


@dataclass(frozen=True, kw_only=True)
class SaveMenuCategory(Command):
    """Create or change a heading of the menu (central owns the menu)."""

    name: ClassVar[str] = "save_menu_category"
    priority: ClassVar[Priority] = Priority.ORDER
    category_id: str
    code: str
    name_ja: str
    name_en: str
    position: int = 0

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"menu_category:{self.category_id}",)


@dataclass(frozen=True, kw_only=True)
class SaveMenuItem(Command):
    """Create or change a menu item: price (tax included), tax class, hours, allergens."""

    name: ClassVar[str] = "save_menu_item"
    priority: ClassVar[Priority] = Priority.ORDER
    item_id: str
    category_id: str
    code: str
    name_ja: str
    name_en: str
    price: Yen
    tax_class: TaxClass = TaxClass.STANDARD
    service_charge_rate: Decimal = Decimal(0)
    available_from: str | None = None  # local "HH:MM"
    available_until: str | None = None
    allergens: tuple[str, ...] = ()
    sold_out: bool = False
    track_stock: bool = False

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"menu_item:{self.item_id}",)


@dataclass(frozen=True, kw_only=True)
class SetPricePolicy(Command):
    """Choose what a guest pays when the confirmed price differs from the estimate."""

    name: ClassVar[str] = "set_price_policy"
    priority: ClassVar[Priority] = Priority.ORDER
    property_id: str
    policy: PricePolicy

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room_service:{self.property_id}",)


@dataclass(frozen=True, kw_only=True)
class AdjustStock(Command):
    """Count stock in (a positive delta) or out (negative), with a note."""

    name: ClassVar[str] = "adjust_stock"
    priority: ClassVar[Priority] = Priority.ORDER
    move_id: str
    item_id: str
    delta: int
    note: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"stock_move:{self.move_id}",)


@dataclass(frozen=True)
class OrderItem:
    """One line as ordered: an item, how many, and the unit price the orderer was shown."""

    item_id: str
    quantity: int
    estimated_unit_price: Yen | None = None  # None: staff priced it from this node's menu


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(Command):
    """A guest (the page) or staff (the phone) orders room service for a stay."""

    name: ClassVar[str] = "place_order"
    priority: ClassVar[Priority] = Priority.ORDER
    order_id: str
    reservation_id: str
    source: OrderSource
    items: tuple[OrderItem, ...]
    notes: str = ""
    deliver_at: str | None = None  # ISO 8601 with offset; None: as soon as possible
    client_id: str = ""
    number: str | None = None  # resolved at the issuing node, reused by a replay
    policy: PricePolicy | None = None  # resolved likewise: the policy the guest was under
    estimated: tuple[Yen, ...] | None = None  # the unit prices estimated, resolved likewise
    confirmed_total: Yen | None = None  # what the issuing node confirmed (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"order:{self.order_id}",)


@dataclass(frozen=True, kw_only=True)
class AdvanceOrder(Command):
    """The kitchen moves an order on (preparing, delivering, delivered) or cancels it.

    Delivery posts the order's one charge to the stay's folio.
    """

    name: ClassVar[str] = "advance_order"
    priority: ClassVar[Priority] = Priority.ORDER
    order_id: str
    status: OrderStatus
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"order:{self.order_id}",)


@dataclass(frozen=True, kw_only=True)
class IssueGuestToken(Command):
    """Give an in-house stay a guest token for the room-service page (only its hash is kept)."""

    name: ClassVar[str] = "issue_guest_token"
    priority: ClassVar[Priority] = Priority.ORDER
    token_id: str
    reservation_id: str
    token_hash: str
    method: str = "link"  # "link" (made at check-in) or "room_surname"

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"guest_token:{self.token_id}",)
