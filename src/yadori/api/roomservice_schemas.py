"""Request and response bodies of room service (the guest page, the kitchen, the menu)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from yadori.api.schemas import Id, In, Text, Yen
from yadori.domain.property import Property
from yadori.domain.roomservice import MenuCategory, MenuItem, Order, OrderStatus, PricePolicy
from yadori.domain.taxes import TaxClass
from yadori.services.commands import OrderItem
from yadori.services.roomservice_queries import GuestStay, MenuView

Quantity = Annotated[int, Field(ge=1, le=99)]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Code = Annotated[str, Field(min_length=1, max_length=16)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Allergen = Annotated[str, Field(min_length=1, max_length=32)]


class LineIn(In):
    """One line as ordered: the item, how many, and the unit price the orderer was shown."""

    item_id: Id
    quantity: Quantity
    unit_price: Yen | None = None

    def item(self) -> OrderItem:
        return OrderItem(self.item_id, self.quantity, self.unit_price)


class GuestOrderIn(In):
    """An order from the guest page, with the id the page made for it (UUIDv7)."""

    id: Id
    client_id: Annotated[str, Field(max_length=32)] = ""
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=50)]
    notes: Text = ""
    deliver_at: datetime | None = None
    estimated_total: Yen | None = None


class StaffOrderIn(In):
    """An order taken by staff (on the phone) for a stay."""

    id: Id | None = None
    reservation_id: Id
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=50)]
    notes: Text = ""
    deliver_at: datetime | None = None


class AdvanceIn(In):
    """The next status of an order (or cancelled), with a reason for a cancellation."""

    status: OrderStatus
    reason: Text = ""


class StockIn(In):
    """Stock counted in (positive) or out (negative)."""

    move_id: Id | None = None
    item_id: Id
    delta: Annotated[int, Field(ge=-100_000, le=100_000)]
    note: Text = ""


class CategoryIn(In):
    """A menu category."""

    code: Code
    name_ja: Name
    name_en: Name
    position: int = 0


class ItemIn(In):
    """A menu item: price includes consumption tax."""

    category_id: Id
    code: Code
    name_ja: Name
    name_en: Name
    price: Annotated[int, Field(ge=0, le=10_000_000)]
    tax_class: TaxClass = TaxClass.STANDARD
    service_charge_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    available_from: HHMM | None = None
    available_until: HHMM | None = None
    allergens: Annotated[tuple[Allergen, ...], Field(max_length=30)] = ()
    sold_out: bool = False
    track_stock: bool = False


class PolicyIn(In):
    """The price policy of the property."""

    policy: PricePolicy


class RoomSurnameIn(In):
    """The guest's fallback sign-in: room number and surname."""

    room: Annotated[str, Field(min_length=1, max_length=16)]
    surname: Annotated[str, Field(min_length=1, max_length=100)]


class GuestTokenIn(In):
    """Ask for a guest link for an in-house stay."""

    reservation_id: Id


class GuestTokenOut(BaseModel):
    """A guest token (shown once: only its hash is kept) and the page's link with it."""

    token_id: str
    token: str
    link: str


class OrderLineOut(BaseModel):
    """One line of an order, with both unit prices."""

    item_id: str
    name_ja: str
    name_en: str
    quantity: int
    estimated_unit_price: int
    unit_price: int
    tax_class: str


class OrderOut(BaseModel):
    """An order: status, the estimated and the confirmed price, and what is charged."""

    id: str
    number: str
    reservation_id: str
    room_number: str
    source: str
    status: str
    lines: list[OrderLineOut]
    notes: str
    deliver_at: datetime | None
    placed_at: datetime
    estimated_total: int
    confirmed_total: int
    charge: int
    policy: str
    price_changed: bool
    client_id: str

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            id=o.id,
            number=o.number,
            reservation_id=o.reservation_id,
            room_number=o.room_number,
            source=o.source.value,
            status=o.status.value,
            lines=[
                OrderLineOut(
                    item_id=line.item_id,
                    name_ja=line.name_ja,
                    name_en=line.name_en,
                    quantity=line.quantity,
                    estimated_unit_price=line.estimated_unit_price,
                    unit_price=line.unit_price,
                    tax_class=line.tax_class.value,
                )
                for line in o.lines
            ],
            notes=o.notes,
            deliver_at=o.deliver_at,
            placed_at=o.placed_at,
            estimated_total=o.estimated_total,
            confirmed_total=o.confirmed_total,
            charge=o.charge,
            policy=o.policy.value,
            price_changed=o.price_changed,
            client_id=o.client_id,
        )


class CategoryOut(BaseModel):
    """A menu category."""

    id: str
    code: str
    name_ja: str
    name_en: str
    position: int

    @classmethod
    def of(cls, c: MenuCategory) -> CategoryOut:
        return cls(id=c.id, code=c.code, name_ja=c.name_ja, name_en=c.name_en, position=c.position)


class ItemOut(BaseModel):
    """A menu item as the page shows it; ``stock`` is the local count of a counted item."""

    id: str
    category_id: str
    code: str
    name_ja: str
    name_en: str
    price: int
    tax_class: str
    service_charge_rate: str
    available_from: str | None
    available_until: str | None
    allergens: list[str]
    sold_out: bool
    stock: int | None

    @classmethod
    def of(cls, i: MenuItem, stock: int | None) -> ItemOut:
        return cls(
            id=i.id,
            category_id=i.category_id,
            code=i.code,
            name_ja=i.name_ja,
            name_en=i.name_en,
            price=i.price,
            tax_class=i.tax_class.value,
            service_charge_rate=str(i.service_charge_rate),
            available_from=None if i.available_from is None else f"{i.available_from:%H:%M}",
            available_until=None if i.available_until is None else f"{i.available_until:%H:%M}",
            allergens=list(i.allergens),
            sold_out=i.sold_out or (stock is not None and stock <= 0),
            stock=stock,
        )


class MenuOut(BaseModel):
    """The menu, with what the page needs to estimate a price as the bill will."""

    property_code: str
    name_ja: str
    name_en: str
    timezone: str
    service_charge_rounding: str
    policy: str
    categories: list[CategoryOut]
    items: list[ItemOut]

    @classmethod
    def of(cls, v: MenuView) -> MenuOut:
        return cls(
            property_code=v.property.code,
            name_ja=v.property.name_ja,
            name_en=v.property.name_en,
            timezone=v.property.timezone,
            service_charge_rounding=v.property.service_charge_rounding.value,
            policy=v.policy.value,
            categories=[CategoryOut.of(c) for c in v.categories],
            items=[ItemOut.of(i, v.stock.get(i.id)) for i in v.items],
        )


class StayOut(BaseModel):
    """What the guest page shows of the stay it is signed in to."""

    room_number: str
    guest_name: str
    property_code: str
    name_ja: str
    name_en: str

    @classmethod
    def of(cls, s: GuestStay, prop: Property) -> StayOut:
        return cls(
            room_number=s.room_number,
            guest_name=s.guest_name,
            property_code=prop.code,
            name_ja=prop.name_ja,
            name_en=prop.name_en,
        )
