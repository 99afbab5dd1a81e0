"""Room service through the real message bus, on SQLite and PostgreSQL: the menu, stock as a
counter, orders priced twice, the one folio charge of a delivery, and merges at central."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from support.auth import trust_actor
from support.hotel import ACTOR, Hotel, build_hotel
from support.roomservice import Menu, build_menu
from yadori.auth.errors import ActorRefused
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.conflicts import ConflictKind, TicketStatus
from yadori.domain.errors import InvalidInput, UnknownReservation
from yadori.domain.folio import ChargeCategory, Folio
from yadori.domain.guest_access import token_hash
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation
from yadori.domain.roomservice import (
    InvalidOrderTransition,
    ItemUnavailable,
    MenuItem,
    OrderSource,
    OrderStatus,
    OutOfStock,
    PricePolicy,
    StayNotInHouse,
    UnknownMenuItem,
)
from yadori.services import commands as c
from yadori.services.bus import Replayed, ReplayResult
from yadori.services.ports import UnitOfWork
from yadori.storage.repositories.outbox import mutation_from_row
from yadori.storage.tables import outbox
from yadori.sync.mutation import Actor, Mutation, make_mutation


@pytest.fixture
def menu(hotel: Hotel) -> Menu:
    """The test menu at the parameter's backend."""
    return build_menu(hotel)


def in_house(hotel: Hotel, room: str = "101", name: str = "Sato Taro") -> Reservation:
    """A stay checked in to a room."""
    return hotel.check_in(hotel.book(room=room, name=name), room)


def folio(hotel: Hotel, reservation: Reservation) -> Folio:
    """The stay's folio with its lines."""
    return hotel.node.bus.read(
        hotel.property_id, lambda uow: uow.folios.for_reservation(reservation.id)
    )


def room_service_lines(hotel: Hotel, reservation: Reservation) -> list[int]:
    """Amounts of the stay's room-service charges."""
    return [
        line.amount
        for line in folio(hotel, reservation).lines
        if line.category == ChargeCategory.ROOM_SERVICE.value
    ]


def outbox_size(hotel: Hotel) -> int:
    """Mutations in the node's outbox."""
    with hotel.node.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())


def test_an_order_is_priced_counted_and_charged_once(hotel: Hotel, menu: Menu) -> None:
    """Curry ×2 and a club sandwich with its 10 % service charge: ¥3,600 + ¥2,200 + ¥220."""
    stay = in_house(hotel)
    order = menu.order(stay, {"CURRY": 2, "CLUB": 1})
    assert order.status is OrderStatus.ACCEPTED
    assert (order.estimated_total, order.confirmed_total, order.charge) == (6_020, 6_020, 6_020)
    assert order.number.startswith(hotel.node.config.node_prefix)
    assert order.room_number == "101"
    assert menu.stock("CURRY") == 8
    for status in (OrderStatus.PREPARING, OrderStatus.DELIVERING, OrderStatus.DELIVERED):
        order = menu.advance(order, status)
    assert room_service_lines(hotel, stay) == [6_020]
    before = outbox_size(hotel)
    again = menu.advance(order, OrderStatus.DELIVERED)  # a retried delivery
    assert again.status is OrderStatus.DELIVERED
    assert room_service_lines(hotel, stay) == [6_020]
    assert outbox_size(hotel) == before + 1  # recorded, but posts nothing


def test_a_step_back_is_refused(hotel: Hotel, menu: Menu) -> None:
    """A delivered order cannot be cancelled or prepared again."""
    order = menu.order(in_house(hotel), {"TEA": 1})
    order = menu.advance(order, OrderStatus.DELIVERED)
    with pytest.raises(InvalidOrderTransition):
        menu.advance(order, OrderStatus.CANCELLED)


def test_cancelling_gives_the_stock_back(hotel: Hotel, menu: Menu) -> None:
    """A cancelled order returns its portions and charges nothing."""
    stay = in_house(hotel)
    order = menu.order(stay, {"CURRY": 3})
    assert menu.stock("CURRY") == 7
    menu.advance(order, OrderStatus.CANCELLED)
    assert menu.stock("CURRY") == 10
    assert room_service_lines(hotel, stay) == []


def test_the_local_stock_check_refuses_an_oversell(hotel: Hotel, menu: Menu) -> None:
    """Eleven curries from ten: refused, and nothing is written."""
    stay = in_house(hotel)
    before = outbox_size(hotel)
    with pytest.raises(OutOfStock):
        menu.order(stay, {"CURRY": 11})
    with pytest.raises(OutOfStock):
        hotel.run(c.AdjustStock(move_id=new_id(), item_id=menu.item("CURRY"), delta=-11))
    assert outbox_size(hotel) == before
    assert menu.stock("CURRY") == 10


def test_only_an_in_house_stay_orders(hotel: Hotel, menu: Menu) -> None:
    """A booked stay, an unknown stay and an unknown item are refused."""
    booked = hotel.book(room="102")
    with pytest.raises(StayNotInHouse):
        menu.order(booked, {"TEA": 1})
    stay = in_house(hotel)
    with pytest.raises(UnknownMenuItem):
        hotel.run(
            c.PlaceOrder(
                order_id=new_id(),
                reservation_id=stay.id,
                source=OrderSource.GUEST,
                items=(c.OrderItem(new_id(), 1),),
            )
        )
    with pytest.raises(UnknownReservation):
        hotel.run(
            c.PlaceOrder(
                order_id=new_id(),
                reservation_id=new_id(),
                source=OrderSource.GUEST,
                items=(c.OrderItem(menu.item("TEA"), 1),),
            )
        )
    with pytest.raises(InvalidInput):
        hotel.run(
            c.PlaceOrder(
                order_id=new_id(), reservation_id=stay.id, source=OrderSource.GUEST, items=()
            )
        )


def _save_tea(hotel: Hotel, menu: Menu, **changes: Any) -> None:
    """Save the menu's green tea at ¥600 with these changes."""
    hotel.run(
        c.SaveMenuItem(
            item_id=menu.item("TEA"),
            category_id=menu.drinks,
            code="TEA",
            name_ja="緑茶",
            name_en="Green tea",
            price=600,
            **changes,
        )
    )


def test_sold_out_is_refused(hotel: Hotel, menu: Menu) -> None:
    """An item marked sold out cannot be ordered."""
    _save_tea(hotel, menu, sold_out=True)
    with pytest.raises(ItemUnavailable):
        menu.order(in_house(hotel), {"TEA": 1})


def test_an_estimate_at_a_price_the_menu_had_is_honoured(hotel: Hotel, menu: Menu) -> None:
    """The page cached tea at ¥600; the price became ¥650: the guest pays the lower (¥600).
    An estimate at a price the item never had is not honoured."""
    stay = in_house(hotel)
    menu.set_price("TEA", 650)
    order = menu.order(stay, {"TEA": 2}, estimated={"TEA": 600})
    assert (order.estimated_total, order.confirmed_total, order.charge) == (1_200, 1_300, 1_200)
    forged = menu.order(stay, {"TEA": 2}, estimated={"TEA": 1})
    assert (forged.estimated_total, forged.charge) == (1_300, 1_300)


def test_the_price_policy_is_set_per_property(hotel: Hotel, menu: Menu) -> None:
    """Under the confirmed-price policy the guest pays the PMS's price."""
    with pytest.raises(InvalidInput):
        hotel.run(c.SetPricePolicy(property_id=new_id(), policy=PricePolicy.CONFIRMED))
    hotel.run(c.SetPricePolicy(property_id=hotel.property_id, policy=PricePolicy.CONFIRMED))
    menu.set_price("TEA", 650)
    order = menu.order(in_house(hotel), {"TEA": 1}, estimated={"TEA": 600})
    assert (order.policy, order.charge) == (PricePolicy.CONFIRMED, 650)


def test_a_guest_token_is_stored_as_its_hash(hotel: Hotel, menu: Menu) -> None:
    """Only the SHA-256 of the token is kept, and it names the stay."""
    stay = in_house(hotel)
    token_id = new_id()
    hotel.run(
        c.IssueGuestToken(token_id=token_id, reservation_id=stay.id, token_hash=token_hash("abc"))
    )
    found = hotel.node.bus.read(
        hotel.property_id, lambda uow: uow.guest_tokens.reservation_of(token_hash("abc"))
    )
    assert found == (token_id, stay.id)
    with pytest.raises(StayNotInHouse):
        hotel.run(
            c.IssueGuestToken(
                token_id=new_id(), reservation_id=hotel.book().id, token_hash=token_hash("x")
            )
        )
    with pytest.raises(InvalidInput):
        hotel.run(
            c.IssueGuestToken(
                token_id=new_id(),
                reservation_id=stay.id,
                token_hash="short",  # noqa: S106 - a hash, and a wrong one
                method="link",
            )
        )
    with pytest.raises(InvalidInput):
        hotel.run(
            c.IssueGuestToken(
                token_id=new_id(), reservation_id=stay.id, token_hash=token_hash("y"), method="sms"
            )
        )


# --- merges at central -------------------------------------------------------------------------


class Pair:
    """An edge (SQLite) whose every mutation is replayed at a central (the parameter's backend)."""

    def __init__(self, edge: Yadori, central: Yadori) -> None:
        self.edge = edge
        self.central = central
        self.synced = 0
        self.hotel = build_hotel(edge)
        trust_actor(central, self.hotel.property_id, ACTOR)  # central issued the test's token
        self.menu = build_menu(self.hotel)
        self.central_hotel = Hotel(central, self.hotel.property_id, "", "", "", self.hotel.rooms)
        self.sync()

    def sync(self) -> list[Replayed]:
        """Replay at central every edge mutation not replayed yet, in order."""
        with self.edge.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox).where(outbox.c.seq > self.synced).order_by(outbox.c.seq)
            ).all()
        done = []
        for row in rows:
            mutation = mutation_from_row(row)
            done.append(self.central.bus.replay(self.hotel.property_id, mutation, "edge", _nothing))
            self.synced = mutation.seq
        return done

    def at_central(self, command: c.Command) -> object:
        """Run a command at central."""
        return self.central.bus.execute(self.hotel.property_id, command, ACTOR).result


def _nothing(uow: UnitOfWork, replayed: Replayed) -> None:
    return None


@pytest.fixture
def pair(tmp_path: Path, db_url: str) -> Iterator[Pair]:
    """An edge and a central holding the same hotel and menu."""
    edge = bootstrap(NodeConfig("edge", "edge1", "E1", f"sqlite:///{tmp_path / 'pair-edge.db'}"))
    central = bootstrap(NodeConfig("central", "central", "C", db_url))
    yield Pair(edge, central)
    edge.close()
    central.close()


def test_central_confirms_at_its_own_price(pair: Pair) -> None:
    """Central raised the curry to ¥2,000 while the edge sold two at ¥1,800: central's replay
    confirms ¥4,000, says so, and under the default policy the guest pays ¥3,600."""
    stay = in_house(pair.hotel)
    pair.sync()
    central_menu = Menu(pair.central_hotel, pair.menu.mains, pair.menu.drinks, pair.menu.items)
    central_menu.set_price("CURRY", 2_000)
    order = pair.menu.order(stay, {"CURRY": 2}, source=OrderSource.STAFF)
    pair.menu.advance(order, OrderStatus.DELIVERED)
    placed, delivered = pair.sync()
    assert placed.result is ReplayResult.APPLIED_WITH_CHANGES
    assert placed.changes == {"confirmed_total": 4_000, "issuer_confirmed": 3_600}
    assert delivered.result is ReplayResult.APPLIED
    at_central = pair.central.bus.read(pair.hotel.property_id, lambda uow: uow.orders.get(order.id))
    assert (at_central.estimated_total, at_central.confirmed_total, at_central.charge) == (
        3_600,
        4_000,
        3_600,
    )
    assert room_service_lines(pair.central_hotel, stay) == [3_600]


def test_an_oversell_found_at_central_opens_a_ticket(pair: Pair) -> None:
    """Central counted 8 curries out while the edge sold 5 of the 10: stock −3 and a ticket."""
    stay = in_house(pair.hotel)
    pair.sync()
    pair.at_central(c.AdjustStock(move_id=new_id(), item_id=pair.menu.item("CURRY"), delta=-8))
    pair.menu.order(stay, {"CURRY": 5})
    (placed,) = pair.sync()
    assert placed.result is ReplayResult.CONFLICT
    tickets = pair.central.bus.read(pair.hotel.property_id, lambda uow: uow.tickets.list())
    assert [t.kind for t in tickets] == [ConflictKind.OVERSOLD]
    assert tickets[0].status is TicketStatus.OPEN
    central_menu = Menu(pair.central_hotel, pair.menu.mains, pair.menu.drinks, pair.menu.items)
    assert central_menu.stock("CURRY") == -3


def test_a_delivery_beats_a_cancellation_made_elsewhere(pair: Pair) -> None:
    """Central cancelled an order the hotel delivered: delivered, charged once, stock taken
    again, and a lifecycle ticket; the cancellation replayed after a delivery is kept out."""
    stay = in_house(pair.hotel)
    order = pair.menu.order(stay, {"CURRY": 1})
    pair.sync()
    pair.at_central(c.AdvanceOrder(order_id=order.id, status=OrderStatus.CANCELLED))
    pair.menu.advance(order, OrderStatus.DELIVERED)
    (delivered,) = pair.sync()
    assert delivered.result is ReplayResult.CONFLICT
    central_menu = Menu(pair.central_hotel, pair.menu.mains, pair.menu.drinks, pair.menu.items)
    assert central_menu.stock("CURRY") == 9
    assert room_service_lines(pair.central_hotel, stay) == [1_800]
    late = pair.central.bus.replay(
        pair.hotel.property_id,
        _replayed_cancel(pair, order.id),
        "edge",
        _nothing,
    )
    assert late.result is ReplayResult.APPLIED_WITH_CHANGES


def _replayed_cancel(pair: Pair, order_id: str) -> Mutation:
    """A cancellation made at another edge, arriving after the delivery."""
    cmd = c.AdvanceOrder(order_id=order_id, status=OrderStatus.CANCELLED)
    return make_mutation(
        id=new_id(),
        origin="edge9",
        seq=1,
        hlc=str(pair.edge.bus.hlc.now()),
        name=cmd.name,
        args=cmd.args(),
        deps=(),
        priority=cmd.priority,
        actor=ACTOR,
    )


# --- guests as actors: what central accepts from the room-service page (decision 0032) ----------


def _as_guest(pair: Pair, stay: Reservation, token_id: str, command: c.Command) -> None:
    """Run a command at the edge as the guest page does: actor guest:<stay>, the token's id."""
    pair.edge.bus.execute(pair.hotel.property_id, command, Actor(f"guest:{stay.id}", token_id))


def _desk_token(pair: Pair, stay: Reservation) -> str:
    token_id = new_id()
    pair.hotel.run(
        c.IssueGuestToken(
            token_id=token_id, reservation_id=stay.id, token_hash=token_hash(new_id())
        )
    )
    return token_id


def _guest_order(pair: Pair, stay: Reservation) -> c.PlaceOrder:
    item = c.OrderItem(pair.menu.item("TEA"), 1)
    return c.PlaceOrder(
        order_id=new_id(), reservation_id=stay.id, source=OrderSource.GUEST, items=(item,)
    )


def test_central_takes_a_guests_order_under_the_desks_guest_token(pair: Pair) -> None:
    """Made at check-in by the desk (a staff command), the token lets its stay order."""
    stay = in_house(pair.hotel)
    token_id = _desk_token(pair, stay)
    _as_guest(pair, stay, token_id, _guest_order(pair, stay))
    results = pair.sync()
    assert results[-1].result in (ReplayResult.APPLIED, ReplayResult.APPLIED_WITH_CHANGES)


def test_central_takes_a_guests_sign_in_by_room_and_surname_then_the_order(pair: Pair) -> None:
    """The sign-in issues the guest's own token; orders under it are the guest's."""
    stay = in_house(pair.hotel)
    token_id = new_id()
    sign_in = c.IssueGuestToken(
        token_id=token_id,
        reservation_id=stay.id,
        token_hash=token_hash(new_id()),
        method="room_surname",
    )
    _as_guest(pair, stay, token_id, sign_in)
    _as_guest(pair, stay, token_id, _guest_order(pair, stay))
    assert len(pair.sync()) >= 2  # in_house, the sign-in and the order: none refused


@pytest.mark.parametrize(
    "case", ["other_stay", "unknown_token", "not_an_order", "staff_source", "foreign_sign_in"]
)
def test_central_refuses_what_a_guest_may_not_do(pair: Pair, case: str) -> None:
    """Another stay, a token central never saw, a kitchen step, a staff-sourced order, or a
    sign-in to someone else's stay: actor_refused, recorded as rejected when pushed."""
    stay = in_house(pair.hotel)
    other = in_house(pair.hotel, room="102", name="Suzuki Hanako")
    token_id = _desk_token(pair, stay)
    order = _guest_order(pair, stay)
    pair.sync()
    command: c.Command = order
    if case == "other_stay":
        command = dataclasses.replace(order, reservation_id=other.id)
    elif case == "unknown_token":
        token_id = new_id()
    elif case == "not_an_order":
        placed = pair.menu.order(stay, {"TEA": 1})
        pair.sync()
        command = c.AdvanceOrder(order_id=placed.id, status=OrderStatus.CANCELLED)
    elif case == "staff_source":
        command = dataclasses.replace(order, source=OrderSource.STAFF)
    elif case == "foreign_sign_in":
        token_id = new_id()
        command = c.IssueGuestToken(
            token_id=token_id,
            reservation_id=other.id,
            token_hash=token_hash(new_id()),
            method="room_surname",
        )
    _as_guest(pair, stay, token_id, command)
    with pytest.raises(ActorRefused):
        pair.sync()


def test_a_rate_set_out_of_bounds_is_refused_where_it_comes_in(hotel: Hotel, menu: Menu) -> None:
    """A menu item's or a new property's service-charge rate above 1 or finer than six places
    is refused by its command, naming the field, and nothing is written."""

    def tea() -> MenuItem:
        items = hotel.node.bus.read(hotel.property_id, lambda uow: uow.menu.items())
        return next(i for i in items if i.code == "TEA")

    before = tea()
    for rate in (Decimal("1.5"), Decimal("0.1234567"), Decimal("1E-100000")):
        with pytest.raises(InvalidInput) as raised:
            _save_tea(hotel, menu, service_charge_rate=rate)
        assert raised.value.facts["field"] == "service_charge_rate"
        with pytest.raises(InvalidInput) as raised:
            build_hotel(hotel.node, service_charge=str(rate))
        assert raised.value.facts["field"] == "service_charge_rate"
    assert tea() == before
