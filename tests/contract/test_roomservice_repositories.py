"""The room-service repository contract, on SQLite and PostgreSQL: the menu, stock moves,
orders with their stays, guest tokens. The same values must come back from both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from support.hotel import Hotel
from yadori.domain.errors import UnknownReservation
from yadori.domain.ids import new_id
from yadori.domain.inventory import StockMove, StockReason
from yadori.domain.reservations import ReservationStatus
from yadori.domain.roomservice import (
    MenuCategory,
    MenuItem,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    PricePolicy,
    UnknownMenuItem,
    UnknownOrder,
)
from yadori.domain.taxes import TaxClass
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@contextmanager
def unit(hotel: Hotel) -> Iterator[SqlUnitOfWork]:
    """A unit of work that commits when the block succeeds."""
    with SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)(hotel.property_id) as uow:
        yield uow
        uow.commit()


def menu(hotel: Hotel) -> tuple[MenuCategory, MenuItem, MenuItem]:
    """A category with a counted item with every field set, and a plain one."""
    category = MenuCategory(new_id(), "MAINS", "お食事", "Meals", 2)
    ramen = MenuItem(
        id=new_id(),
        category_id=category.id,
        code="RAMEN",
        name_ja="ラーメン",
        name_en="Ramen",
        price=1_200,
        tax_class=TaxClass.REDUCED,
        service_charge_rate=Decimal("0.125"),
        available_from=time(22),
        available_until=time(2, 30),
        allergens=("wheat", "egg"),
        sold_out=True,
        track_stock=True,
        previous_price=1_100,
    )
    tea = MenuItem(new_id(), category.id, "TEA", "緑茶", "Green tea", 600)
    with unit(hotel) as uow:
        uow.menu.save_category(category)
        uow.menu.save_item(ramen)
        uow.menu.save_item(tea)
    return category, ramen, tea


def test_the_menu_comes_back_as_saved(hotel: Hotel) -> None:
    """Every field of an item and a category, items by category then code; upserts replace."""
    category, ramen, tea = menu(hotel)
    with unit(hotel) as uow:
        assert uow.menu.get_item(ramen.id) == ramen
        assert uow.menu.items() == [ramen, tea]
        assert uow.menu.categories() == [category]
        assert uow.touched() == frozenset()
        uow.menu.save_item(MenuItem(tea.id, category.id, "TEA", "煎茶", "Sencha", 700))
        uow.menu.save_category(MenuCategory(category.id, "MAINS", "食事", "Food", 1))
        assert uow.touched() == {f"menu_item:{tea.id}", f"menu_category:{category.id}"}
    with unit(hotel) as uow:
        assert uow.menu.get_item(tea.id).price == 700
        assert uow.menu.categories()[0].name_en == "Food"
        with pytest.raises(UnknownMenuItem):
            uow.menu.get_item(new_id())


def test_the_price_policy_defaults_to_the_lower(hotel: Hotel) -> None:
    """No row: lower; set twice: the last one."""
    with unit(hotel) as uow:
        assert uow.menu.policy() is PricePolicy.LOWER
        uow.menu.set_policy(PricePolicy.CONFIRMED)
        uow.menu.set_policy(PricePolicy.ESTIMATED)
        assert uow.touched() == {f"room_service:{hotel.property_id}"}
    with unit(hotel) as uow:
        assert uow.menu.policy() is PricePolicy.ESTIMATED


def test_stock_is_the_sum_of_its_moves(hotel: Hotel) -> None:
    """Sums per item (0 without moves), moves known by id."""
    _, ramen, tea = menu(hotel)
    first = StockMove(new_id(), ramen.id, 12, StockReason.RESTOCK, note="delivery")
    with unit(hotel) as uow:
        uow.stock.add(first, node="edge1", at=NOW)
        uow.stock.add(
            StockMove(new_id(), ramen.id, -15, StockReason.ORDER, new_id()), node="e", at=NOW
        )
        assert uow.stock.on_hand([ramen.id, tea.id]) == {ramen.id: -3, tea.id: 0}
        assert uow.stock.exists(first.id)
        assert not uow.stock.exists(new_id())


def order_for(hotel: Hotel, item: MenuItem, **changes: object) -> tuple[Order, str]:
    """An order of two of the item for a stay in 101, and the stay's id."""
    stay = hotel.check_in(hotel.book(room="101"), "101")
    folio_id = hotel.folio_id(stay)
    line = OrderLine(
        item.id, item.name_ja, item.name_en, 2, 1_100, 1_200, TaxClass.REDUCED, Decimal("0.125")
    )
    fields: dict[str, object] = {
        "id": new_id(),
        "reservation_id": stay.id,
        "folio_id": folio_id,
        "room_number": "101",
        "source": OrderSource.GUEST,
        "status": OrderStatus.ACCEPTED,
        "lines": (line, line),
        "estimated_total": 4_950,
        "confirmed_total": 5_400,
        "policy": PricePolicy.LOWER,
        "placed_at": NOW,
        "notes": "箸を2膳",
        "deliver_at": datetime(2026, 12, 1, 19, 0, tzinfo=timezone(timedelta(hours=9))),
        "client_id": "tab-1",
        "number": "E1-000001",
    }
    fields.update(changes)
    return Order(**fields), stay.id  # type: ignore[arg-type]


def test_an_order_comes_back_with_its_lines_and_changes(hotel: Hotel) -> None:
    """Every field, lines in order; a status change is stored; lists filter."""
    _, ramen, _ = menu(hotel)
    order, stay_id = order_for(hotel, ramen)
    with unit(hotel) as uow:
        uow.orders.add(order)
        assert uow.touched() == {f"order:{order.id}"}
    with unit(hotel) as uow:
        back = uow.orders.get(order.id, for_update=True)
        assert back == order
        assert back.deliver_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        uow.orders.save(back.advance(OrderStatus.PREPARING))
    with unit(hotel) as uow:
        assert uow.orders.find(order.id).status is OrderStatus.PREPARING  # type: ignore[union-attr]
        assert uow.orders.find(new_id()) is None
        assert [o.id for o in uow.orders.list(reservation_id=stay_id)] == [order.id]
        assert uow.orders.list(statuses=[OrderStatus.DELIVERED]) == []
        assert uow.orders.list(reservation_id=new_id()) == []
        with pytest.raises(UnknownOrder):
            uow.orders.get(new_id())


def test_an_orders_stay_and_a_tokens_stay_in_one_query(hotel: Hotel) -> None:
    """Status, guest, room and folio of the stay; the same through its token."""
    _, ramen, _ = menu(hotel)
    order, stay_id = order_for(hotel, ramen)
    token_id = new_id()
    with unit(hotel) as uow:
        stay = uow.orders.stay(stay_id)
        assert (stay.status, stay.room_number, stay.folio_id) == (
            ReservationStatus.CHECKED_IN,
            "101",
            order.folio_id,
        )
        uow.guest_tokens.add(token_id, stay_id, "ab" * 32, "link", NOW)
        assert uow.touched() == {f"guest_token:{token_id}"}
        with pytest.raises(UnknownReservation):
            uow.orders.stay(new_id())
    with unit(hotel) as uow:
        assert uow.guest_tokens.reservation_of("ab" * 32) == (token_id, stay_id)
        assert uow.guest_tokens.stay_of("ab" * 32) == (token_id, stay)
        assert uow.guest_tokens.reservation_of("cd" * 32) is None
        assert uow.guest_tokens.stay_of("cd" * 32) is None
