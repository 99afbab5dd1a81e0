"""Every command handler through the real message bus, on SQLite and on PostgreSQL.

Each successful command must append exactly one mutation that rebuilds the same command, whose
checksum holds, whose seq is the next integer and whose deps name the latest earlier mutation of
every aggregate it touches. Each refused command must append nothing (``Desk.refuse``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

import pytest
import sqlalchemy as sa

from support.hotel import ACTOR, TODAY, Hotel, build_hotel, guest
from yadori.domain.errors import (
    AlreadyExists,
    BusinessDayClosed,
    DomainError,
    FolioClosed,
    FolioNotBalanced,
    InvalidInput,
    InvalidReservationTransition,
    InvalidRoomTransition,
    ManagerOverrideRequired,
    RegistryDataMissing,
    RoomNotAvailable,
    RoomNotReady,
    UnknownFolio,
    UnknownFolioLine,
    UnknownRoomType,
    VoidRefused,
)
from yadori.domain.folio import ChargeCategory, Folio, FolioLine, FolioStatus, ManagerOverride
from yadori.domain.ids import new_id
from yadori.domain.property import Property
from yadori.domain.rates import RatePlan
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.domain.rooms import Condition, Room, Service
from yadori.domain.taxes import TaxClass
from yadori.services import commands as c
from yadori.services import queries
from yadori.services.bus import Outcome
from yadori.services.commands import command_from
from yadori.services.ports import UnitOfWork
from yadori.storage.repositories.outbox import mutation_from_row
from yadori.storage.tables import outbox
from yadori.sync.mutation import Mutation

T = TypeVar("T")
D1, D2, D3, D4 = (TODAY + timedelta(days=i) for i in range(4))
NIGHT = 11_000 + 100  # a standard room for one guest: ¥11,000 with tax, ¥100 Tokyo tax


class Desk:
    """The hotel's front desk: runs commands and checks the mutation each one leaves."""

    def __init__(self, hotel: Hotel) -> None:
        self.hotel = hotel

    def read(self, query: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only query at the hotel."""
        return self.hotel.node.bus.read(self.hotel.property_id, query)

    def mutations(self) -> list[Mutation]:
        """Every mutation in the node's outbox, in seq order."""
        return [mutation for _, mutation in self.history()]

    def history(self) -> list[tuple[str, Mutation]]:
        """Every mutation in the node's outbox with the property it belongs to, in seq order."""
        return [(owner, mutation) for owner, mutation, _ in self.records()]

    def records(self) -> list[tuple[str, Mutation, list[str]]]:
        """Outbox rows: property, mutation, and the aggregates recorded beside it."""
        query = sa.select(outbox).order_by(outbox.c.seq)
        rows = self.read(lambda uow: uow.connection.execute(query).all())  # type: ignore[attr-defined]
        return [(r.property_id, mutation_from_row(r), json.loads(r.aggregates)) for r in rows]

    def run(self, command: c.Command) -> Outcome:
        """Run a command and check it appended exactly one well-formed mutation."""
        records = self.records()
        before = [mutation for _, mutation, _ in records]
        outcome = self.hotel.run(command)
        after = self.mutations()
        assert after[:-1] == before, "exactly one mutation is appended"
        mutation = after[-1]
        assert mutation == outcome.mutation
        assert mutation.checksum_ok()
        assert mutation.seq == before[-1].seq + 1
        rebuilt = command_from(mutation.name, mutation.args)
        assert rebuilt.issued_on is not None  # the business date it was issued on travels
        given = {k: v for k, v in vars_of(command).items() if v is not None}
        assert {k: vars_of(rebuilt)[k] for k in given} == given  # resolved fields are added
        assert (mutation.name, mutation.priority) == (command.name, command.priority)
        assert (mutation.origin, mutation.actor) == (self.hotel.node.config.node_id, ACTOR)
        recorded = self.records()[-1][2]
        pid = self.hotel.property_id
        assert {f"{pid}/{key}" for key in command.aggregates()} <= set(recorded)
        assert mutation.deps == expected_deps(records, recorded)
        assert all(mutation.hlc > m.hlc for m in before)
        return outcome

    def refuse(self, command: c.Command, error: type[DomainError]) -> DomainError:
        """Run a command that must be refused with ``error`` and leave no mutation."""
        before = self.mutations()
        with pytest.raises(error) as raised:
            self.hotel.run(command)
        assert self.mutations() == before, "a refused command appends no mutation"
        return raised.value

    def book(self, **kwargs: object) -> tuple[Reservation, Mutation]:
        """Book a standard room (see ``booking``) and return it with its mutation."""
        outcome = self.run(self.booking(**kwargs))  # type: ignore[arg-type]
        return outcome.value(Reservation), outcome.mutation

    def booking(
        self,
        *,
        arrival: date = TODAY,
        nights: int = 2,
        adults: int = 1,
        room_type: str | None = None,
        room: str | None = None,
    ) -> c.CreateReservation:
        """A booking command with fresh ids."""
        return c.CreateReservation(
            reservation_id=new_id(),
            folio_id=new_id(),
            guest_name="佐藤 太郎",
            arrival=arrival,
            departure=arrival + timedelta(days=nights),
            adults=adults,
            room_type_id=room_type or self.hotel.std,
            rate_plan_id=self.hotel.plan,
            room_id=self.hotel.rooms[room] if room else None,
        )

    def check_in(self, reservation: Reservation, room: str = "101") -> Outcome:
        """Check a reservation in to a room, with every guest registered."""
        guests = tuple(guest(i) for i in range(reservation.adults))
        return self.run(
            c.CheckIn(reservation_id=reservation.id, room_id=self.hotel.rooms[room], guests=guests)
        )

    def in_house(self, room: str = "101", nights: int = 2) -> tuple[Reservation, str]:
        """A guest checked in today, and their folio id."""
        reservation, _ = self.book(nights=nights)
        self.check_in(reservation, room)
        return reservation, self.hotel.folio_id(reservation)

    def close_day(self) -> Property:
        """Run the night audit for the current business date."""
        today = self.read(lambda uow: uow.properties.get().business_date)
        return self.run(c.CloseBusinessDay(business_date=today)).value(Property)

    def charge(self, folio_id: str, amount: int = 500, **kwargs: object) -> Outcome:
        """Post a minibar charge."""
        return self.run(
            c.PostCharge(
                folio_id=folio_id,
                line_id=new_id(),
                category="minibar",
                description="ビール Beer",
                amount=amount,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    def pay(self, folio_id: str, amount: int) -> Outcome:
        """Record a cash payment."""
        return self.run(
            c.PostPayment(folio_id=folio_id, line_id=new_id(), method="cash", amount=amount)
        )

    def room(self, number: str) -> Room:
        """A room's current status."""
        return self.read(lambda uow: uow.rooms.get(self.hotel.rooms[number]))

    def reservation(self, reservation_id: str) -> Reservation:
        """A reservation's current state."""
        return self.read(lambda uow: uow.reservations.get(reservation_id))

    def folio(self, folio_id: str) -> Folio:
        """A folio with its lines."""
        return self.read(lambda uow: uow.folios.get(folio_id))

    def due(self, folio_id: str) -> int:
        """What the guest must pay to check out today."""
        return self.read(lambda uow: queries.folio(uow, folio_id).settlement_due)

    def free(self, code: str, night: date) -> int:
        """Rooms of a type left to sell on a night."""
        return self.read(lambda uow: queries.availability(uow, night, night + timedelta(1)))[code][
            night
        ]

    def held(self, number: str, nights: list[date]) -> set[date]:
        """The nights on which any active stay holds a room."""
        room_id = self.hotel.rooms[number]
        return self.read(lambda uow: uow.reservations.held_nights(room_id, nights, besides=""))

    def mutation_of(self, name: str, **args: object) -> Mutation:
        """The latest mutation of a command name whose args include those given."""
        return next(
            m
            for m in reversed(self.mutations())
            if m.name == name and all(m.args.get(k) == v for k, v in args.items())
        )


def vars_of(command: c.Command) -> dict[str, object]:
    """A command's fields by name."""
    return {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}


def expected_deps(
    records: list[tuple[str, Mutation, list[str]]], keys: list[str]
) -> tuple[str, ...]:
    """The model: the latest earlier mutation of each (property-scoped) aggregate key."""
    heads: dict[str, str] = {}
    for _, mutation, touched in records:
        heads.update(dict.fromkeys(touched, mutation.id))
    return tuple(dict.fromkeys(heads[k] for k in sorted(set(keys)) if k in heads))


def room_nights(folio: Folio) -> list[date | None]:
    """The nights of the folio's room lines, in posting order."""
    return [line.night for line in folio.lines if line.category == ChargeCategory.ROOM.value]


@pytest.fixture
def desk(hotel: Hotel) -> Desk:
    """The front desk of the small hotel, on each backend."""
    return Desk(hotel)


# --- setup and booking -----------------------------------------------------------------------


def test_setup_commands_each_left_one_replayable_mutation(desk: Desk) -> None:
    """The hotel's ten setup commands are seqs 1..10, each rebuildable, checksummed, chained."""
    records = desk.records()
    mutations = [mutation for _, mutation, _ in records]
    assert [m.seq for m in mutations] == list(range(1, 11))
    assert [m.name for m in mutations[:3]] == ["create_property", *["create_room_type"] * 2]
    for position, (owner, mutation, touched) in enumerate(records):
        command = command_from(mutation.name, mutation.args)
        assert owner == desk.hotel.property_id
        assert mutation.checksum_ok()
        assert {f"{owner}/{key}" for key in command.aggregates()} <= set(touched)
        assert mutation.deps == expected_deps(records[:position], touched)
    create_101 = desk.mutation_of("create_room", room_id=desk.hotel.rooms["101"])
    assert create_101.deps == (mutations[1].id,)  # the room type it belongs to


def test_setup_commands_add_types_rooms_and_plans_and_refuse_unknown_types(desk: Desk) -> None:
    """Room types, rooms and plans are created through the bus; bad references are refused."""
    suite = new_id()
    desk.run(
        c.CreateRoomType(
            room_type_id=suite, code="STE", name_ja="スイート", name_en="Suite", max_occupancy=4
        )
    )
    room = desk.run(c.CreateRoom(room_id=new_id(), number="301", room_type_id=suite, floor=3))
    plan = c.CreateRatePlan(
        rate_plan_id=new_id(),
        code="NET",
        name_ja="税抜",
        name_en="Net",
        tax_included=False,
        prices=(c.Price(suite, 50_000), c.Price(suite, 80_000, D4)),
    )
    created = desk.run(plan)
    assert room.value(Room).room_type_id == suite
    assert created.value(RatePlan).price(suite, D4) == 80_000
    refusals: list[tuple[c.Command, type[DomainError]]] = [
        (
            c.CreateRoom(room_id=new_id(), number="302", room_type_id=new_id(), floor=3),
            UnknownRoomType,
        ),
        (c.CreateRoom(room_id=new_id(), number="301", room_type_id=suite, floor=3), AlreadyExists),
        (
            c.CreateRatePlan(
                rate_plan_id=new_id(),
                code="X",
                name_ja="x",
                name_en="x",
                prices=(c.Price(new_id(), 1),),
            ),
            UnknownRoomType,
        ),
        (
            c.CreateRatePlan(
                rate_plan_id=new_id(),
                code="Y",
                name_ja="y",
                name_en="y",
                prices=(c.Price(suite, -1),),
            ),
            InvalidInput,
        ),
        (
            c.CreateRoomType(
                room_type_id=new_id(), code="STE", name_ja="重複", name_en="Dup", max_occupancy=1
            ),
            AlreadyExists,
        ),
    ]
    for cmd, error in refusals:
        desk.refuse(cmd, error)
    assert desk.free("STE", D1) == 1


def test_book_fixes_each_nights_price_and_opens_an_empty_folio(desk: Desk) -> None:
    """A booking across the override night prices it at ¥16,500; its folio is open and empty."""
    reservation, mutation = desk.book(arrival=D4, nights=3)
    prefix = desk.hotel.node.config.node_prefix
    assert reservation.number == f"{prefix}-000001"
    assert [(n.night, n.amount) for n in reservation.nights] == [
        (D4, 11_000),
        (D4 + timedelta(1), 16_500),  # the plan's date override (tests/support/hotel.py)
        (D4 + timedelta(2), 11_000),
    ]
    assert desk.reservation(reservation.id) == reservation
    folio = desk.read(lambda uow: uow.folios.for_reservation(reservation.id))
    assert (folio.status, folio.lines) == (FolioStatus.OPEN, ())
    assert mutation.deps == ()  # the first mutation of a new reservation
    second, _ = desk.book()
    assert second.number == f"{prefix}-000002"


def test_book_with_a_room_holds_it_and_refuses_a_clash(desk: Desk) -> None:
    """Booking a named room holds it every night; a second stay in it on any night is refused."""
    reservation, mutation = desk.book(room="101", nights=2)
    assert reservation.room_id == desk.hotel.rooms["101"]
    assert desk.held("101", [D1, D2, D3]) == {D1, D2}
    error = desk.refuse(desk.booking(arrival=D2, room="101"), RoomNotAvailable)
    assert error.facts["nights"] == [D2.isoformat()]
    assert desk.free("STD", D2) == 3  # the refused booking took nothing
    room_made = desk.mutation_of("create_room", room_id=desk.hotel.rooms["101"])
    assert mutation.deps == (room_made.id,)  # the hold depends on the room, nothing else


def test_assign_room_holds_every_night_and_depends_on_the_booking(desk: Desk) -> None:
    """Assigning depends on the reservation's creation and the room's last change."""
    reservation, created = desk.book(nights=3)
    outcome = desk.run(c.AssignRoom(reservation_id=reservation.id, room_id=desk.hotel.rooms["102"]))
    room_created = desk.mutation_of("create_room", room_id=desk.hotel.rooms["102"])
    assert outcome.mutation.deps == (created.id, room_created.id)
    assert outcome.value(Reservation).room_id == desk.hotel.rooms["102"]
    assert desk.held("102", [D1, D2, D3, D4]) == {D1, D2, D3}


def test_assign_room_refuses_a_room_held_on_an_overlapping_night(desk: Desk) -> None:
    """A room another stay holds on one of the nights cannot be assigned."""
    desk.book(arrival=D3, room="103")
    reservation, _ = desk.book(nights=3)
    cmd = c.AssignRoom(reservation_id=reservation.id, room_id=desk.hotel.rooms["103"])
    assert desk.refuse(cmd, RoomNotAvailable).facts["nights"] == [D3.isoformat()]
    assert desk.reservation(reservation.id).room_id is None


# --- check-in --------------------------------------------------------------------------------


def test_check_in_registers_guests_occupies_the_room_and_depends_on_the_booking(
    desk: Desk,
) -> None:
    """Check-in stores the registry in order, makes the room OC and follows the booking."""
    reservation, created = desk.book(adults=2)
    outcome = desk.check_in(reservation, "104")
    room_created = desk.mutation_of("create_room", room_id=desk.hotel.rooms["104"])
    assert outcome.mutation.deps == (created.id, room_created.id)
    stay = desk.read(lambda uow: queries.stay(uow, reservation.id))
    assert stay.reservation.status is ReservationStatus.CHECKED_IN
    assert stay.reservation.room_id == desk.hotel.rooms["104"]
    assert stay.registry == [guest(0), guest(1)]
    assert desk.room("104").status_code == "OC"
    assert desk.held("104", [D1, D2, D3]) == {D1, D2}


def test_check_in_into_the_assigned_room_needs_no_room_id(desk: Desk) -> None:
    """A reservation with an assigned room checks in to it when the command names none."""
    reservation, _ = desk.book(room="102", nights=1)
    cmd = c.CheckIn(reservation_id=reservation.id, guests=(guest(0),))
    assert desk.run(cmd).value(Reservation).room_id == desk.hotel.rooms["102"]
    assert desk.room("102").status_code == "OC"
    unassigned, _ = desk.book(nights=1)
    error = desk.refuse(c.CheckIn(reservation_id=unassigned.id, guests=(guest(0),)), InvalidInput)
    assert error.facts["field"] == "room_id"


def test_check_in_refuses_a_registry_missing_a_field(desk: Desk) -> None:
    """The Hotel Business Act's missing field is named each time, and nothing is written."""
    reservation, _ = desk.book()
    cases = [
        ((RegistryEntry("Sato", "", "090-0000-0000"),), "address"),
        ((RegistryEntry("Sato", "東京都", " "),), "contact"),
        ((RegistryEntry("Doe", "NY", "+1", resident_in_japan=False),), "nationality"),
        ((RegistryEntry("Doe", "NY", "+1", False, "US", " "),), "passport_number"),
        ((RegistryEntry("Doe", "NY", "+1", False, "US", "X1", False),), "passport_copy_kept"),
        ((), "guests"),
    ]
    for guests, field in cases:
        cmd = c.CheckIn(
            reservation_id=reservation.id, room_id=desk.hotel.rooms["101"], guests=guests
        )
        assert desk.refuse(cmd, RegistryDataMissing).facts["field"] == field
    assert desk.reservation(reservation.id).status is ReservationStatus.BOOKED
    assert desk.room("101").status_code == "VC"
    assert desk.read(lambda uow: uow.reservations.registry(reservation.id)) == []


def test_check_in_refuses_an_arrival_that_is_not_today(desk: Desk) -> None:
    """A reservation arriving tomorrow cannot check in on today's business date."""
    reservation, _ = desk.book(arrival=D2)
    cmd = c.CheckIn(
        reservation_id=reservation.id, room_id=desk.hotel.rooms["101"], guests=(guest(0),)
    )
    desk.refuse(cmd, InvalidReservationTransition)


def test_check_in_refuses_a_room_held_by_another_stay(desk: Desk) -> None:
    """A room another stay holds on an overlapping night is refused, naming the night."""
    desk.book(arrival=D2, room="101")
    reservation, _ = desk.book(nights=2)
    cmd = c.CheckIn(
        reservation_id=reservation.id, room_id=desk.hotel.rooms["101"], guests=(guest(0),)
    )
    assert desk.refuse(cmd, RoomNotAvailable).facts["nights"] == [D2.isoformat()]
    assert desk.room("101").status_code == "VC"


def test_check_in_refuses_a_dirty_room(desk: Desk) -> None:
    """A vacant dirty room (VD) is not ready for a guest."""
    desk.run(c.SetRoomCondition(room_id=desk.hotel.rooms["101"], condition=Condition.DIRTY))
    reservation, _ = desk.book()
    cmd = c.CheckIn(
        reservation_id=reservation.id, room_id=desk.hotel.rooms["101"], guests=(guest(0),)
    )
    desk.refuse(cmd, RoomNotReady)
    assert desk.reservation(reservation.id).status is ReservationStatus.BOOKED


# --- room moves ------------------------------------------------------------------------------


def test_move_room_frees_the_old_room_and_holds_the_new_one_from_tonight(desk: Desk) -> None:
    """After a night in 101, a move leaves 101 VD and 102 OC, holding the remaining nights."""
    reservation, _ = desk.in_house("101", nights=3)
    desk.close_day()
    moved = desk.run(
        c.MoveRoom(reservation_id=reservation.id, to_room_id=desk.hotel.rooms["102"], reason="AC")
    ).value(Reservation)
    assert moved.room_id == desk.hotel.rooms["102"]
    assert (desk.room("101").status_code, desk.room("102").status_code) == ("VD", "OC")
    assert desk.held("102", [D1, D2, D3]) == {D2, D3}
    assert desk.held("101", [D1, D2, D3]) == {D1}
    desk.book(arrival=D2, room="101")  # the old room can be sold again from tonight


def test_move_room_refuses_a_room_held_by_another_stay(desk: Desk) -> None:
    """A move into a room held on a remaining night is refused and changes nothing."""
    reservation, _ = desk.in_house("101", nights=3)
    desk.book(arrival=D3, room="102")
    cmd = c.MoveRoom(reservation_id=reservation.id, to_room_id=desk.hotel.rooms["102"])
    desk.refuse(cmd, RoomNotAvailable)
    assert (desk.room("101").status_code, desk.room("102").status_code) == ("OC", "VC")
    assert desk.reservation(reservation.id).room_id == desk.hotel.rooms["101"]
    same = c.MoveRoom(reservation_id=reservation.id, to_room_id=desk.hotel.rooms["101"])
    assert desk.refuse(same, InvalidInput).facts["field"] == "to_room_id"


# --- folio -----------------------------------------------------------------------------------


def test_folio_postings_chain_on_the_folio_and_balance(desk: Desk) -> None:
    """Charges, payment, adjustment and void append in order, each after the folio's last."""
    _, folio_id = desk.in_house()
    minibar = desk.charge(folio_id, 500, tax_class=TaxClass.REDUCED, tax_included=False)
    dining = desk.run(
        c.PostCharge(
            folio_id=folio_id,
            line_id=new_id(),
            category="room_service",
            description="カレー Curry",
            amount=3_000,
        )
    )
    payment = desk.run(
        c.PostPayment(folio_id=folio_id, line_id=new_id(), method="card", amount=1_000)
    )
    adjustment = desk.run(
        c.PostAdjustment(folio_id=folio_id, line_id=new_id(), amount=-500, reason="goodwill")
    )
    minibar_line = minibar.value(FolioLine)
    void = desk.run(
        c.VoidLine(
            folio_id=folio_id, line_id=minibar_line.id, void_line_id=new_id(), reason="mistake"
        )
    )
    chain = [minibar, dining, payment, adjustment, void]
    assert [o.mutation.deps for o in chain[1:]] == [(o.mutation.id,) for o in chain[:-1]]
    folio = desk.folio(folio_id)
    assert [line.id for line in folio.lines] == [o.value(FolioLine).id for o in chain]
    assert void.value(FolioLine).voids == minibar_line.id
    assert folio.balance() == 3_000 - 500 - 1_000


def test_folio_refuses_invalid_postings(desk: Desk) -> None:
    """Bad categories, amounts, methods, reasons, lines and folios are refused, unwritten."""
    _, folio_id = desk.in_house()
    posted = desk.charge(folio_id).value(FolioLine)

    def charge(**changes: object) -> c.PostCharge:
        fields: dict[str, object] = {
            "folio_id": folio_id,
            "line_id": new_id(),
            "category": "minibar",
            "description": "x",
            "amount": 1,
        }
        return c.PostCharge(**{**fields, **changes})  # type: ignore[arg-type]

    def payment(method: str, amount: int) -> c.PostPayment:
        return c.PostPayment(folio_id=folio_id, line_id=new_id(), method=method, amount=amount)

    def void(line_id: str, reason: str) -> c.VoidLine:
        return c.VoidLine(folio_id=folio_id, line_id=line_id, void_line_id=new_id(), reason=reason)

    cases: list[tuple[c.Command, type[DomainError]]] = [
        (charge(category="room"), InvalidInput),  # room nights come from the stay
        (charge(amount=-1), InvalidInput),
        (payment("bitcoin", 1), InvalidInput),
        (payment("cash", 0), InvalidInput),
        (
            c.PostAdjustment(folio_id=folio_id, line_id=new_id(), amount=-1, reason=" "),
            InvalidInput,
        ),
        (void(posted.id, ""), InvalidInput),
        (void(new_id(), "typo"), UnknownFolioLine),
        (charge(line_id=posted.id), AlreadyExists),
        (charge(folio_id=new_id()), UnknownFolio),
    ]
    for cmd, error in cases:
        desk.refuse(cmd, error)
    assert desk.folio(folio_id).lines == (posted,)


def test_a_void_cannot_be_voided_nor_a_line_voided_twice(desk: Desk) -> None:
    """Voids are final: voiding the void or the voided line again is refused."""
    _, folio_id = desk.in_house()
    posted = desk.charge(folio_id).value(FolioLine)
    void_id = new_id()
    desk.run(c.VoidLine(folio_id=folio_id, line_id=posted.id, void_line_id=void_id, reason="x"))
    for target in (posted.id, void_id):
        cmd = c.VoidLine(folio_id=folio_id, line_id=target, void_line_id=new_id(), reason="y")
        desk.refuse(cmd, VoidRefused)


def test_post_room_charges_is_idempotent(desk: Desk) -> None:
    """Posting the same nights twice posts their lines once; the second run adds nothing."""
    reservation, folio_id = desk.in_house(nights=2)
    cmd = c.PostRoomCharges(reservation_id=reservation.id, through=D3)
    first = desk.run(cmd)
    lines = desk.folio(folio_id).lines
    second = desk.run(cmd)
    assert len(first.value(list)) == 4  # room and Tokyo tax, two nights
    assert second.value(list) == []
    assert second.mutation.deps == (first.mutation.id,)
    assert desk.folio(folio_id).lines == lines
    assert room_nights(desk.folio(folio_id)) == [D1, D2]
    desk.close_day()  # the audit finds the night posted already
    assert desk.folio(folio_id).lines == lines


# --- check-out -------------------------------------------------------------------------------


def test_check_out_posts_the_unposted_night_once_and_leaves_the_room_dirty(desk: Desk) -> None:
    """Leaving on arrival day posts that night once, releases the rest, and leaves 101 VD."""
    reservation, folio_id = desk.in_house("101", nights=2)
    assert desk.due(folio_id) == NIGHT
    desk.pay(folio_id, NIGHT)
    free_before = desk.free("STD", D2)
    out = desk.run(c.CheckOut(reservation_id=reservation.id)).value(Reservation)
    assert out.status is ReservationStatus.CHECKED_OUT
    folio = desk.folio(folio_id)
    assert room_nights(folio) == [D1]
    assert (folio.status, folio.balance()) == (FolioStatus.SETTLED, 0)
    assert desk.room("101").status_code == "VD"
    assert desk.free("STD", D2) == free_before + 1
    assert desk.held("101", [D1, D2]) == set()


def test_check_out_after_the_audit_does_not_post_a_night_again(desk: Desk) -> None:
    """A night the audit posted is not posted again by check-out the next day."""
    reservation, folio_id = desk.in_house("101", nights=2)
    desk.close_day()
    desk.pay(folio_id, desk.due(folio_id))
    desk.run(c.CheckOut(reservation_id=reservation.id))
    assert room_nights(desk.folio(folio_id)) == [D1]


def test_check_out_refuses_an_unbalanced_folio_and_writes_nothing(desk: Desk) -> None:
    """An unpaid folio is refused with its balance; no line, mutation or status changes."""
    reservation, folio_id = desk.in_house("101")
    lines, free = desk.folio(folio_id).lines, desk.free("STD", D2)
    error = desk.refuse(c.CheckOut(reservation_id=reservation.id), FolioNotBalanced)
    assert error.facts["balance"] == NIGHT
    assert desk.folio(folio_id) == Folio(folio_id, reservation.id, lines=lines)
    assert desk.reservation(reservation.id).status is ReservationStatus.CHECKED_IN
    assert desk.room("101").status_code == "OC"
    assert desk.free("STD", D2) == free


def test_check_out_with_a_manager_override_stores_it(desk: Desk) -> None:
    """A manager's override with a reason settles an unbalanced folio and is kept on it."""
    reservation, folio_id = desk.in_house("101")
    blank = ManagerOverride("manager-1", " ")
    cmd = c.CheckOut(reservation_id=reservation.id, override=blank)
    desk.refuse(cmd, ManagerOverrideRequired)
    override = ManagerOverride("manager-1", "宿泊代は会社請求 billed to the company")
    desk.run(c.CheckOut(reservation_id=reservation.id, override=override))
    folio = desk.folio(folio_id)
    assert (folio.status, folio.override) == (FolioStatus.SETTLED, override)
    assert folio.balance() == NIGHT
    assert desk.room("101").status_code == "VD"


def test_a_checked_out_stay_takes_no_more_changes(desk: Desk) -> None:
    """After check-out the folio is closed and the stay cannot leave or be cancelled again."""
    reservation, folio_id = desk.in_house("101")
    desk.pay(folio_id, NIGHT)
    desk.run(c.CheckOut(reservation_id=reservation.id))
    charge = c.PostCharge(
        folio_id=folio_id, line_id=new_id(), category="misc", description="x", amount=1
    )
    desk.refuse(charge, FolioClosed)
    desk.refuse(c.CheckOut(reservation_id=reservation.id), InvalidReservationTransition)
    desk.refuse(c.CancelReservation(reservation_id=reservation.id), InvalidReservationTransition)
    booked, _ = desk.book()
    desk.refuse(c.CheckOut(reservation_id=booked.id), InvalidReservationTransition)


# --- cancellations, no-shows and availability ------------------------------------------------


@pytest.mark.parametrize(
    "release",
    [
        lambda r: c.CancelReservation(reservation_id=r, reason="plans changed"),
        lambda r: c.MarkNoShow(reservation_id=r),
    ],
    ids=["cancel", "no_show"],
)
def test_cancel_and_no_show_release_the_inventory(
    desk: Desk, release: Callable[[str], c.Command]
) -> None:
    """Availability goes back up and the held room is free again."""
    reservation, created = desk.book(room="101", nights=2)
    assert desk.free("STD", D1) == 3
    outcome = desk.run(release(reservation.id))
    assert outcome.mutation.deps == (created.id,)
    assert desk.free("STD", D1) == 4
    assert desk.held("101", [D1, D2]) == set()
    desk.book(room="101")
    desk.refuse(release(reservation.id), InvalidReservationTransition)


def test_a_guest_in_house_cannot_be_cancelled_or_marked_no_show(desk: Desk) -> None:
    """Only a booked reservation can be cancelled or marked no-show."""
    reservation, _ = desk.in_house()
    desk.refuse(c.CancelReservation(reservation_id=reservation.id), InvalidReservationTransition)
    desk.refuse(c.MarkNoShow(reservation_id=reservation.id), InvalidReservationTransition)


def test_availability_drops_with_bookings_and_overbooking_is_refused(desk: Desk) -> None:
    """Four standard rooms sell four times a night; the fifth booking is refused."""
    for _ in range(4):
        desk.book(nights=1)
    assert (desk.free("STD", D1), desk.free("STD", D2), desk.free("TWN", D1)) == (0, 4, 2)
    error = desk.refuse(desk.booking(nights=2), RoomNotAvailable)
    assert error.facts["nights"] == [D1.isoformat()]
    desk.book(arrival=D2, nights=1)
    assert desk.free("STD", D2) == 3


def test_out_of_order_rooms_leave_the_inventory_out_of_service_ones_do_not(desk: Desk) -> None:
    """OOO takes a room out of what can be sold; OOS keeps it; a reason is required."""
    twin_a, twin_b = desk.hotel.rooms["201"], desk.hotel.rooms["202"]
    desk.refuse(c.SetRoomService(room_id=twin_a, service=Service.OUT_OF_ORDER), InvalidInput)
    desk.run(c.SetRoomService(room_id=twin_a, service=Service.OUT_OF_ORDER, reason="leak"))
    desk.run(c.SetRoomService(room_id=twin_b, service=Service.OUT_OF_SERVICE, reason="paint"))
    assert desk.free("TWN", D1) == 1
    assert (desk.room("201").status_code, desk.room("202").status_code) == ("OOO", "OOS")
    desk.book(room_type=desk.hotel.twn)
    desk.refuse(desk.booking(room_type=desk.hotel.twn), RoomNotAvailable)
    desk.run(c.SetRoomService(room_id=twin_a, service=Service.IN_SERVICE))
    assert desk.free("TWN", D1) == 1


def test_housekeeping_changes_chain_on_the_room(desk: Desk) -> None:
    """Dirty, clean, inspected: each change follows the room's previous one."""
    room_id = desk.hotel.rooms["103"]
    dirty = desk.run(c.SetRoomCondition(room_id=room_id, condition=Condition.DIRTY))
    inspect = c.SetRoomCondition(room_id=room_id, condition=Condition.INSPECTED)
    desk.refuse(inspect, InvalidRoomTransition)  # not cleaned yet
    clean = desk.run(c.SetRoomCondition(room_id=room_id, condition=Condition.CLEAN))
    inspected = desk.run(inspect)
    assert clean.mutation.deps == (dirty.mutation.id,)
    assert inspected.mutation.deps == (clean.mutation.id,)
    assert inspected.value(Room).version == 4
    assert desk.room("103").status_code == "VI"


# --- night audit -----------------------------------------------------------------------------


def test_close_business_day_posts_in_house_nights_and_advances_the_date(desk: Desk) -> None:
    """The audit charges tonight to in-house stays only, then moves the business date on."""
    _, in_house = desk.in_house("101", nights=2)
    arriving, _ = desk.book(arrival=D2)
    closed = desk.close_day()
    assert closed.business_date == D2
    assert desk.read(lambda uow: uow.properties.get().business_date) == D2
    folio = desk.folio(in_house)
    assert [(line.category, line.amount, line.night) for line in folio.lines] == [
        ("room", 11_000, D1),
        ("accommodation_tax", 100, D1),
    ]
    assert desk.folio(desk.hotel.folio_id(arriving)).lines == ()
    assert desk.due(in_house) == NIGHT  # the second night is not due if the guest leaves today


def test_closing_the_same_business_day_twice_is_refused(desk: Desk) -> None:
    """A retried close of a day already closed raises BusinessDayClosed and writes nothing."""
    desk.in_house()
    first = desk.run(c.CloseBusinessDay(business_date=TODAY))
    error = desk.refuse(c.CloseBusinessDay(business_date=TODAY), BusinessDayClosed)
    assert error.facts["business_date"] == D2.isoformat()
    second = desk.run(c.CloseBusinessDay(business_date=D2))
    assert second.mutation.deps == (first.mutation.id,)
    assert second.value(Property).business_date == D3


def test_closing_one_property_does_not_depend_on_another(desk: Desk) -> None:
    """Two hotels on one node keep separate aggregate heads: their day closes are unrelated."""
    other = build_hotel(desk.hotel.node)
    theirs = other.run(c.CloseBusinessDay(business_date=TODAY))
    mine = desk.run(c.CloseBusinessDay(business_date=TODAY))
    opened = desk.mutation_of("create_property", property_id=desk.hotel.property_id)
    assert mine.mutation.deps == (opened.id,)  # its own property's last change, not theirs
    assert opened.id not in theirs.mutation.deps
    assert len(theirs.mutation.deps) == 1
    assert desk.run(c.CloseBusinessDay(business_date=D2)).mutation.deps == (mine.mutation.id,)


# --- dependencies through what handlers change, and comped nights ------------------------------


def test_the_first_charge_depends_on_the_mutation_that_created_the_folio(desk: Desk) -> None:
    """A charge on a new folio depends on the booking that opened the folio."""
    reservation, created = desk.book()
    charge = desk.charge(desk.hotel.folio_id(reservation))
    assert created.id in charge.mutation.deps


def test_a_void_of_a_room_night_depends_on_the_posting_of_that_night(desk: Desk) -> None:
    """Voiding a room line depends on the mutation that posted it."""
    reservation, folio_id = desk.in_house()
    posted = desk.run(c.PostRoomCharges(reservation_id=reservation.id, through=D2))
    line = posted.value(list)[0]
    void = desk.run(
        c.VoidLine(folio_id=folio_id, line_id=line.id, void_line_id=new_id(), reason="comp")
    )
    assert posted.mutation.id in void.mutation.deps


def test_cleaning_a_room_depends_on_the_check_out_that_left_it_dirty(desk: Desk) -> None:
    """Housekeeping's 'clean' follows the departure that made the room dirty."""
    reservation, folio_id = desk.in_house("101")
    desk.pay(folio_id, NIGHT)
    out = desk.run(c.CheckOut(reservation_id=reservation.id))
    clean = desk.run(c.SetRoomCondition(room_id=desk.hotel.rooms["101"], condition=Condition.CLEAN))
    assert out.mutation.id in clean.mutation.deps


def test_check_out_succeeds_after_a_room_night_was_voided(desk: Desk) -> None:
    """A comped (voided) room night does not stop the guest from checking out."""
    reservation, folio_id = desk.in_house()
    posted = desk.run(c.PostRoomCharges(reservation_id=reservation.id, through=D2))
    room_line = posted.value(list)[0]
    desk.run(
        c.VoidLine(folio_id=folio_id, line_id=room_line.id, void_line_id=new_id(), reason="comp")
    )
    override = ManagerOverride("manager-1", "comped night")
    desk.run(c.CheckOut(reservation_id=reservation.id, override=override))
