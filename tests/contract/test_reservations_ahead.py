"""Reservations read ahead: a replayed check-in reads and rewrites nothing already known.

The repository keeps what it read ahead current with every write; a savepoint rolled back
forgets it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.storage.tables import reservation_nights, room_nights
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def unit(hotel: Hotel) -> SqlUnitOfWork:
    """A unit of work on the hotel's database."""
    return SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)(hotel.property_id)


def holds(hotel: Hotel, reservation_id: str) -> dict[object, str]:
    """Committed room holds of a reservation, by night."""
    with hotel.node.engine.connect() as conn:
        query = sa.select(room_nights.c.night, room_nights.c.room_id).where(
            room_nights.c.reservation_id == reservation_id
        )
        return {str(night): room for night, room in conn.execute(query)}


def active(hotel: Hotel, reservation_id: str) -> list[bool]:
    """Committed active flags of a reservation's nights."""
    with hotel.node.engine.connect() as conn:
        query = (
            sa.select(reservation_nights.c.active)
            .where(reservation_nights.c.reservation_id == reservation_id)
            .order_by(reservation_nights.c.night)
        )
        return [bool(v) for v in conn.execute(query).scalars()]


def watch(uow: SqlUnitOfWork) -> list[str]:
    """The statements the unit's connection runs from now on."""
    statements: list[str] = []
    sa.event.listen(uow.connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def nights(reservation: Reservation) -> list[object]:
    """The reservation's nights as the holds table keys them."""
    return [str(n) for n in reservation.night_dates]


def test_a_check_in_to_the_assigned_room_costs_no_statement_until_the_commit(
    hotel: Hotel,
) -> None:
    """Read ahead, then get, re-hold the same room and save: one batched update at commit."""
    booked = hotel.book(room="101")
    with unit(hotel) as uow:
        uow.read_ahead([f"{hotel.property_id}/reservation:{booked.id}"])
        statements = watch(uow)
        got = uow.reservations.get(booked.id, for_update=True)
        assert got == booked
        uow.reservations.hold_room(booked.id, hotel.rooms["101"], booked.night_dates)
        checked_in = got.advance(ReservationStatus.CHECKED_IN)
        uow.reservations.save(checked_in)
        assert uow.reservations.get(booked.id, for_update=True) == checked_in
        assert statements == []
        uow.commit()
    assert len(statements) == 1  # the save, written behind
    with unit(hotel) as uow:
        assert uow.reservations.get(booked.id).status is ReservationStatus.CHECKED_IN
    assert holds(hotel, booked.id) == dict.fromkeys(nights(booked), hotel.rooms["101"])


def test_a_move_rewrites_the_holds_once_and_knows_them_after(hotel: Hotel) -> None:
    """Holding another room replaces the holds; holding it again writes nothing."""
    booked = hotel.book(room="101")
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{booked.id}"])
        uow.reservations.hold_room(booked.id, hotel.rooms["102"], booked.night_dates)
        statements = watch(uow)
        uow.reservations.hold_room(booked.id, hotel.rooms["102"], booked.night_dates)
        assert statements == []
        uow.commit()
    assert holds(hotel, booked.id) == dict.fromkeys(nights(booked), hotel.rooms["102"])


def test_a_released_stay_held_again_is_active_again(hotel: Hotel) -> None:
    """Released nights are known inactive; holding them again makes them active."""
    booked = hotel.book(room="101")
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{booked.id}"])
        uow.reservations.release_nights(booked.id, booked.night_dates)
        uow.reservations.hold_room(booked.id, hotel.rooms["101"], booked.night_dates)
        uow.commit()
    assert active(hotel, booked.id) == [True, True]
    assert holds(hotel, booked.id) == dict.fromkeys(nights(booked), hotel.rooms["101"])
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{booked.id}"])
        uow.reservations.release_nights(booked.id, booked.night_dates)
        uow.commit()
    assert active(hotel, booked.id) == [False, False]
    assert holds(hotel, booked.id) == {}


def test_a_savepoint_rolled_back_forgets_what_it_changed(hotel: Hotel) -> None:
    """After the rollback the reservation and its holds are read again as committed."""
    booked = hotel.book(room="101")
    with unit(hotel) as uow:
        uow.read_ahead([f"reservation:{booked.id}"])

        def refused() -> None:
            with uow.savepoint():
                got = uow.reservations.get(booked.id, for_update=True)
                uow.reservations.save(replace(got, guest_name="Changed", version=got.version + 1))
                uow.reservations.hold_room(booked.id, hotel.rooms["102"], booked.night_dates)
                raise RuntimeError

        with pytest.raises(RuntimeError):
            refused()
        assert uow.reservations.get(booked.id, for_update=True) == booked
        uow.reservations.hold_room(booked.id, hotel.rooms["101"], booked.night_dates)
        uow.commit()
    with unit(hotel) as uow:
        assert uow.reservations.get(booked.id) == booked
    assert holds(hotel, booked.id) == dict.fromkeys(nights(booked), hotel.rooms["101"])
