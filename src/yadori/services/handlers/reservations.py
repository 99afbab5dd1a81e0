"""Handlers of bookings: create, cancel, no-show, assign a room, move rooms."""

from __future__ import annotations

from datetime import date

from yadori.domain.errors import InvalidInput
from yadori.domain.folio import Folio
from yadori.domain.ids import human_number
from yadori.domain.reservations import (
    NightPrice,
    Reservation,
    ReservationStatus,
    ensure_room_free,
    ensure_type_available,
    nights_from,
    stay_nights,
)
from yadori.domain.rooms import Occupancy, Room
from yadori.services.commands import (
    AssignRoom,
    CancelReservation,
    CreateReservation,
    MarkNoShow,
    MoveRoom,
)
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def create_reservation(cmd: CreateReservation, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Book a room type, fixing each night's price from the rate plan, if a room is left."""
    room_type = uow.room_types.get(cmd.room_type_id)
    plan = uow.rate_plans.get(cmd.rate_plan_id)
    nights = stay_nights(cmd.arrival, cmd.departure)
    prices = tuple(
        NightPrice(n, plan.price(cmd.room_type_id, n), plan.tax_included) for n in nights
    )
    reservation = Reservation(
        id=cmd.reservation_id,
        number=human_number(ctx.node_prefix, uow.counters.next("reservation")),
        guest_name=cmd.guest_name,
        arrival=cmd.arrival,
        departure=cmd.departure,
        adults=cmd.adults,
        room_type_id=cmd.room_type_id,
        rate_plan_id=cmd.rate_plan_id,
        nights=prices,
    )
    ensure_type_available(room_type.code, free_by_night(uow, cmd.room_type_id, nights))
    uow.reservations.add(reservation)
    uow.folios.add(Folio(cmd.folio_id, reservation.id))
    if cmd.room_id is not None:
        return _assign(uow, reservation, cmd.room_id)
    return reservation


def free_by_night(uow: UnitOfWork, room_type_id: str, nights: list[date]) -> dict[date, int]:
    """Rooms of a type still to sell on each night: sellable rooms minus active bookings."""
    sellable = sum(1 for r in uow.rooms.list() if r.room_type_id == room_type_id and r.sellable)
    sold = uow.reservations.sold_by_night(room_type_id, nights)
    return {night: sellable - sold.get(night, 0) for night in nights}


def cancel_reservation(cmd: CancelReservation, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Cancel a booking; its room-nights are released."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    cancelled = reservation.advance(ReservationStatus.CANCELLED)
    uow.reservations.save(cancelled)
    uow.reservations.release_nights(cancelled.id, cancelled.night_dates)
    return cancelled


def mark_no_show(cmd: MarkNoShow, uow: UnitOfWork, ctx: Context) -> Reservation:
    """The guest never came; the room-nights are released."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    no_show = reservation.advance(ReservationStatus.NO_SHOW)
    uow.reservations.save(no_show)
    uow.reservations.release_nights(no_show.id, no_show.night_dates)
    return no_show


def assign_room(cmd: AssignRoom, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Put a booked reservation in a room for all of its nights."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    return _assign(uow, reservation, cmd.room_id)


def _assign(uow: UnitOfWork, reservation: Reservation, room_id: str) -> Reservation:
    room = uow.rooms.get(room_id, for_update=True)
    _claim(uow, reservation, room, reservation.night_dates)
    assigned = reservation.assign(room.id)
    uow.reservations.save(assigned)
    return assigned


def _claim(uow: UnitOfWork, reservation: Reservation, room: Room, nights: list[date]) -> None:
    held = uow.reservations.held_nights(room.id, nights, besides=reservation.id)
    ensure_room_free(room.number, nights, held)
    uow.reservations.hold_room(reservation.id, room.id, nights)


def move_room(cmd: MoveRoom, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Move a stay to another room from tonight on; an in-house guest's old room is freed."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    business_date = uow.properties.get().business_date
    first = max(business_date, reservation.arrival)
    to_room = uow.rooms.get(cmd.to_room_id, for_update=True)
    if to_room.id == reservation.room_id:
        raise InvalidInput(f"the stay is already in room {to_room.number}", field="to_room_id")
    if reservation.status is ReservationStatus.CHECKED_IN:
        _move_guest(uow, reservation, to_room)
    _claim(uow, reservation, to_room, nights_from(reservation, first))
    moved = reservation.assign(to_room.id)
    uow.reservations.save(moved)
    return moved


def _move_guest(uow: UnitOfWork, reservation: Reservation, to_room: Room) -> None:
    uow.rooms.save(to_room.check_in())
    if reservation.room_id is not None and reservation.room_id != to_room.id:
        old = uow.rooms.get(reservation.room_id, for_update=True)
        if old.occupancy is Occupancy.OCCUPIED:
            uow.rooms.save(old.check_out())
