"""A small room-service menu built through real commands, and shortcuts for orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from support.hotel import Hotel
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation
from yadori.domain.roomservice import Order, OrderSource, OrderStatus
from yadori.services import commands as c


@dataclass
class Menu:
    """Ids of the test menu: a curry (¥1,800, counted, 10 in stock), tea (¥600), a club
    sandwich (¥2,200 with a 10 % service charge) and a late-night ramen (22:00–02:00)."""

    hotel: Hotel
    mains: str
    drinks: str
    items: dict[str, str] = field(default_factory=dict)

    def item(self, code: str) -> str:
        """The id of an item by its code."""
        return self.items[code]

    def order(
        self,
        reservation: Reservation,
        lines: dict[str, int],
        *,
        estimated: dict[str, int] | None = None,
        source: OrderSource = OrderSource.GUEST,
        order_id: str | None = None,
    ) -> Order:
        """Place an order of ``{code: quantity}`` for a stay."""
        shown = estimated or {}
        cmd = c.PlaceOrder(
            order_id=order_id or new_id(),
            reservation_id=reservation.id,
            source=source,
            items=tuple(
                c.OrderItem(self.items[code], qty, shown.get(code)) for code, qty in lines.items()
            ),
        )
        return self.hotel.run(cmd).value(Order)

    def advance(self, order: Order, status: OrderStatus) -> Order:
        """Move an order on."""
        return self.hotel.run(c.AdvanceOrder(order_id=order.id, status=status)).value(Order)

    def stock(self, code: str) -> int:
        """The stock of an item at the hotel's node."""
        item = self.items[code]
        return self.hotel.node.bus.read(
            self.hotel.property_id, lambda uow: uow.stock.on_hand([item])[item]
        )

    def set_price(self, code: str, price: int) -> None:
        """Change an item's price (keeping its other fields)."""
        item_id = self.items[code]
        item = self.hotel.node.bus.read(
            self.hotel.property_id, lambda uow: uow.menu.get_item(item_id)
        )
        self.hotel.run(
            c.SaveMenuItem(
                item_id=item.id,
                category_id=item.category_id,
                code=item.code,
                name_ja=item.name_ja,
                name_en=item.name_en,
                price=price,
                tax_class=item.tax_class,
                service_charge_rate=item.service_charge_rate,
                allergens=item.allergens,
                track_stock=item.track_stock,
                available_from=None
                if item.available_from is None
                else f"{item.available_from:%H:%M}",
                available_until=None
                if item.available_until is None
                else f"{item.available_until:%H:%M}",
            )
        )


ITEMS = (
    # code, ja, en, price, service charge, counted, hours, allergens, category
    ("CURRY", "ビーフカレー", "Beef curry", 1_800, "0", True, None, ("wheat", "milk"), "mains"),
    (
        "CLUB",
        "クラブハウスサンド",
        "Club sandwich",
        2_200,
        "0.10",
        False,
        None,
        ("wheat", "egg"),
        "mains",
    ),
    (
        "RAMEN",
        "夜鳴きラーメン",
        "Late-night ramen",
        1_200,
        "0",
        False,
        ("22:00", "02:00"),
        ("wheat",),
        "mains",
    ),
    ("TEA", "緑茶", "Green tea", 600, "0", False, None, (), "drinks"),
)


def build_menu(hotel: Hotel, *, stock: int = 10) -> Menu:
    """The test menu at the hotel's node, with ``stock`` curries counted in."""
    menu = Menu(hotel, new_id(), new_id())
    hotel.run(
        c.SaveMenuCategory(
            category_id=menu.mains, code="MAINS", name_ja="お食事", name_en="Meals", position=1
        )
    )
    hotel.run(
        c.SaveMenuCategory(
            category_id=menu.drinks, code="DRINKS", name_ja="お飲み物", name_en="Drinks", position=2
        )
    )
    for code, ja, en, price, rate, counted, hours, allergens, category in ITEMS:
        item_id = new_id()
        menu.items[code] = item_id
        hotel.run(
            c.SaveMenuItem(
                item_id=item_id,
                category_id=menu.mains if category == "mains" else menu.drinks,
                code=code,
                name_ja=ja,
                name_en=en,
                price=price,
                service_charge_rate=Decimal(rate),
                track_stock=counted,
                available_from=hours[0] if hours else None,
                available_until=hours[1] if hours else None,
                allergens=allergens,
            )
        )
    if stock:
        hotel.run(
            c.AdjustStock(
                move_id=new_id(), item_id=menu.items["CURRY"], delta=stock, note="opening count"
            )
        )
    return menu
