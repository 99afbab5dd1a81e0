"""Counts and holds read ahead for a replayed batch stay exact through every write.

Central replays a batch's bookings and check-ins in one transaction. It counts the bookings of
the nights the batch books in one statement (``count_ahead``) and reads who holds the batch's
rooms (``read_holds_ahead``); the repository then keeps both current with every add, save, hold
and release, and writes the guest registry behind. Whatever the order of writes, what it answers
from memory must be what the tables say. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.hotel import TODAY, Hotel, guest
from yadori.domain.ids import new_id
from yadori.domain.reservations import ACTIVE, NightPrice, Reservation, ReservationStatus
from yadori.storage.tables import registry_entries, reservation_nights, reservations, room_nights
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROOMS = ("101", "102", "201")
NIGHTS = [TODAY + timedelta(days=n) for n in range(6)]
READ = NIGHTS[:3]  # the nights of the reservations the batch reads ahead


def unit(hotel: Hotel) -> SqlUnitOfWork:
    """A unit of work on the hotel's database."""
    return SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)(hotel.property_id)


@contextmanager
def counted(uow: SqlUnitOfWork) -> Iterator[list[str]]:
    """The statements the unit's connection runs inside the block."""
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(uow.connection, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(uow.connection, "before_cursor_execute", seen)


def held_in_table(uow: SqlUnitOfWork, room_id: str, besides: str) -> set[date]:
    """Nights another active reservation holds the room on, as the tables say."""
    query = (
        sa.select(room_nights.c.night)
        .join(reservations, reservations.c.id == room_nights.c.reservation_id)
        .where(
            room_nights.c.room_id == room_id,
            room_nights.c.reservation_id != besides,
            reservations.c.status.in_([s.value for s in ACTIVE]),
        )
    )
    return {n for n in uow.connection.execute(query).scalars() if n in NIGHTS}


def sold_in_table(uow: SqlUnitOfWork, type_id: str) -> dict[date, int]:
    """Active bookings of the type per night, as the tables say."""
    query = (
        sa.select(reservation_nights.c.night, sa.func.count())
        .join(reservations, reservations.c.id == reservation_nights.c.reservation_id)
        .where(
            reservation_nights.c.room_type_id == type_id,
            reservation_nights.c.active.is_(True),
            reservations.c.status.in_([s.value for s in ACTIVE]),
        )
        .group_by(reservation_nights.c.night)
    )
    return {n: c for n, c in uow.connection.execute(query).all() if n in NIGHTS and c}


def new_booking(hotel: Hotel, type_id: str, arrival: date, nights: int) -> Reservation:
    """A reservation not yet added."""
    stay = [arrival + timedelta(days=n) for n in range(nights)]
    return Reservation(
        id=new_id(),
        number=f"R-{new_id()[-8:]}",
        guest_name="Sato",
        arrival=arrival,
        departure=arrival + timedelta(days=nights),
        adults=1,
        room_type_id=type_id,
        rate_plan_id=hotel.plan,
        nights=tuple(NightPrice(n, 11_000, True) for n in stay),
    )


Op = tuple[str, int, int, int]
OPS = st.tuples(
    st.sampled_from(("add", "hold", "release", "status", "register", "rolled_back")),
    st.integers(0, 3),  # which reservation (modulo those there are)
    st.integers(0, 4),  # a room, an arrival offset, a status, a guest count
    st.integers(1, 2),  # nights of a booking
)
STATUSES = tuple(ReservationStatus)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(OPS, min_size=1, max_size=12))
def test_what_is_answered_from_memory_is_what_the_tables_say(hotel: Hotel, ops: list[Op]) -> None:
    """Random writes after the batch's read-ahead: holds and counts agree with the tables."""
    rooms = [hotel.rooms[n] for n in ROOMS]
    types = (hotel.std, hotel.twn)
    booked = [new_booking(hotel, hotel.std, TODAY, 2), new_booking(hotel, hotel.twn, TODAY, 3)]
    # Nothing is committed: each example starts from the same tables.
    with unit(hotel) as uow:
        for reservation in booked:  # written before the batch: one held in a room, one not
            uow.reservations.add(reservation)
        uow.reservations.hold_room(booked[0].id, rooms[0], booked[0].night_dates)
        uow.flush()
        uow.reservations.forget()  # as if read by a new transaction
        uow.read_ahead([f"reservation:{r.id}" for r in booked] + [f"room:{room}" for room in rooms])
        uow.reservations.count_ahead((t, NIGHTS[0], NIGHTS[-1]) for t in types)
        known = list(booked)
        for name, which, arg, length in ops:
            apply(uow, hotel, known, (name, which, arg, length), rooms, types)
            for room in rooms:
                for besides in (known[which % len(known)].id, ""):
                    truth = held_in_table(uow, room, besides)
                    for asked in (READ, NIGHTS):  # within what was read ahead, and past it
                        assert uow.reservations.held_nights(room, asked, besides=besides) == {
                            n for n in truth if n in asked
                        }
            for type_id in types:
                assert dict(uow.reservations.sold_by_night(type_id, NIGHTS)) == sold_in_table(
                    uow, type_id
                )


def apply(  # noqa: PLR0917 - a test's dispatcher
    uow: SqlUnitOfWork,
    hotel: Hotel,
    known: list[Reservation],
    op: Op,
    rooms: list[str],
    types: tuple[str, str],
) -> None:
    """One write through the repository."""
    name, which, arg, length = op
    target = known[which % len(known)]
    repo = uow.reservations
    if name == "add":
        added = new_booking(hotel, types[arg % 2], NIGHTS[arg], length)
        repo.add(added)
        known.append(added)
    elif name == "hold":
        repo.hold_room(target.id, rooms[arg % len(rooms)], target.night_dates)
    elif name == "release":
        repo.release_nights(target.id, target.night_dates[: 1 + arg % 2])
    elif name == "status":
        changed = replace(target, status=STATUSES[arg % len(STATUSES)], version=target.version + 1)
        repo.save(changed)
        known[known.index(target)] = changed
    elif name == "register":
        repo.register_guests(target.id, [guest(i) for i in range(1 + arg % 2)], NOW)
    else:

        def refused() -> None:
            with uow.savepoint():
                repo.hold_room(target.id, rooms[arg % len(rooms)], target.night_dates)
                repo.add(new_booking(hotel, types[arg % 2], NIGHTS[arg], length))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            refused()


def test_a_replayed_check_in_costs_no_statement_until_the_commit(hotel: Hotel) -> None:
    """Holders of the batch's rooms read ahead, the registry written behind: the check-in's
    own writes wait for the commit, where they go in a few batched statements."""
    first, second = hotel.book(room="101"), hotel.book(room="102")
    pairs = ((first, "101"), (second, "102"))
    with unit(hotel) as uow:
        uow.read_ahead(
            [f"reservation:{r.id}" for r, _ in pairs] + [f"room:{hotel.rooms[n]}" for _, n in pairs]
        )
        with counted(uow) as statements:
            for reservation, number in pairs:
                room_id = hotel.rooms[number]
                got = uow.reservations.get(reservation.id, for_update=True)
                assert uow.reservations.held_nights(room_id, got.night_dates, besides=got.id) == (
                    set()
                )
                uow.reservations.hold_room(got.id, room_id, got.night_dates)
                uow.reservations.save(got.advance(ReservationStatus.CHECKED_IN))
                uow.reservations.register_guests(got.id, [guest(0)], NOW)
        assert statements == []
        with counted(uow) as statements:
            uow.commit()
    # the two saves in one update; the registries: one delete, one insert
    assert len(statements) == 3
    with unit(hotel) as uow:
        assert [e.name for e in uow.reservations.registry(first.id)] == ["Guest 0"]
        assert uow.reservations.get(second.id).status is ReservationStatus.CHECKED_IN


def test_a_room_outside_what_was_read_is_asked_of_the_table(hotel: Hotel) -> None:
    """A room the batch did not name, or a night past the reservations read, is not guessed."""
    stay = hotel.book(room="101")
    other = hotel.book(room="102", arrival=TODAY + timedelta(days=30))
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{stay.id}", f"room:{hotel.rooms['101']}"])
        with counted(uow) as statements:
            assert uow.reservations.held_nights(
                hotel.rooms["102"], other.night_dates, besides=""
            ) == set(other.night_dates)
            assert uow.reservations.held_nights(
                hotel.rooms["101"], [TODAY + timedelta(days=40)], besides=""
            ) == (set())
        assert len(statements) == 2


def test_registering_again_in_the_same_unit_keeps_only_the_last_registry(hotel: Hotel) -> None:
    """The registry written behind replaces the stay's earlier one, flushed or not."""
    stay = hotel.check_in(hotel.book(room="101"), "101")
    with unit(hotel) as uow:
        uow.reservations.register_guests(stay.id, [guest(1), guest(2)], NOW)
        assert [e.name for e in uow.reservations.registry(stay.id)] == ["Guest 1", "Guest 2"]
        uow.reservations.register_guests(stay.id, [guest(3)], NOW)
        uow.commit()
    with hotel.node.engine.connect() as conn:
        query = sa.select(registry_entries.c.name).where(
            registry_entries.c.reservation_id == stay.id
        )
        assert list(conn.execute(query).scalars()) == ["Guest 3"]


def test_bookings_counted_ahead_are_answered_without_a_statement(hotel: Hotel) -> None:
    """After count_ahead, the nights of its spans cost nothing; a span over a year is left out."""
    hotel.book(nights=3)
    far = TODAY + timedelta(days=500)
    with unit(hotel) as uow:
        uow.reservations.count_ahead(
            [
                (hotel.std, TODAY, TODAY + timedelta(days=1)),
                (hotel.std, TODAY, TODAY),
                (hotel.twn, TODAY, far),
            ]
        )
        with counted(uow) as statements:
            sold = uow.reservations.sold_by_night(hotel.std, [TODAY, TODAY + timedelta(days=1)])
        assert statements == []
        assert dict(sold) == {TODAY: 1, TODAY + timedelta(days=1): 1}
        with counted(uow) as statements:
            uow.reservations.sold_by_night(hotel.twn, [far])
        assert len(statements) == 1


def test_a_check_in_keeps_the_counts_a_cancellation_drops_its_nights(hotel: Hotel) -> None:
    """A status change within the active ones counts the same; leaving them counts again."""
    stay = hotel.book(room="101", nights=2)
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{stay.id}"])
        before = dict(uow.reservations.sold_by_night(hotel.std, stay.night_dates))
        uow.reservations.save(stay.advance(ReservationStatus.CHECKED_IN))
        with counted(uow) as statements:
            assert dict(uow.reservations.sold_by_night(hotel.std, stay.night_dates)) == before
        assert statements == []
        checked_in = uow.reservations.get(stay.id, for_update=True)
        uow.reservations.save(dataclasses.replace(checked_in, status=ReservationStatus.CANCELLED))
        after = uow.reservations.sold_by_night(hotel.std, stay.night_dates)
        assert {n: after.get(n, 0) + 1 for n in stay.night_dates} == before
