"""Handlers of the stay itself: check-in and check-out."""

from __future__ import annotations

from yadori.domain.errors import InvalidInput, InvalidReservationTransition
from yadori.domain.registry import validate_registry
from yadori.domain.reservations import (
    Reservation,
    ReservationStatus,
    charged_until,
    ensure_room_free,
)
from yadori.services.commands import CheckIn, CheckOut
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import post_room_nights


def check_in(cmd: CheckIn, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Register the guests as the law requires, give them the room, start the stay."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    business_date = uow.properties.get().business_date
    if not reservation.arrival <= business_date < reservation.departure:
        raise InvalidReservationTransition(
            f"reservation {reservation.number} arrives {reservation.arrival}, "
            f"not on the business date {business_date}",
            reservation=reservation.number,
        )
    room_id = cmd.room_id or reservation.room_id
    if room_id is None:
        raise InvalidInput("assign a room before check-in, or name one", field="room_id")
    validate_registry(list(cmd.guests), reservation.adults)
    room = uow.rooms.get(room_id, for_update=True)
    nights = [n for n in reservation.night_dates if n >= business_date]
    ensure_room_free(
        room.number, nights, uow.reservations.held_nights(room.id, nights, besides=reservation.id)
    )
    uow.rooms.save(room.check_in())
    checked_in = reservation.assign(room.id).advance(ReservationStatus.CHECKED_IN)
    uow.reservations.save(checked_in)
    uow.reservations.hold_room(checked_in.id, room.id, nights)
    uow.reservations.register_guests(checked_in.id, cmd.guests, ctx.at)
    return checked_in


def check_out(cmd: CheckOut, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Post the nights not yet charged, settle the folio, free the room (left dirty)."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    if reservation.status is not ReservationStatus.CHECKED_IN:
        reservation.advance(ReservationStatus.CHECKED_OUT)  # raises with the current status
    business_date = uow.properties.get().business_date
    through = charged_until(reservation, business_date)
    post_room_nights(uow, ctx, reservation, through)
    prop = uow.properties.get()
    folio = uow.folios.for_reservation(reservation.id)
    uow.folios.set_status(folio.settle(prop.tax_rounding, cmd.override))
    unused = [n for n in reservation.night_dates if n >= through]
    uow.reservations.release_nights(reservation.id, unused)
    if reservation.room_id is not None:
        room = uow.rooms.get(reservation.room_id, for_update=True)
        uow.rooms.save(room.check_out())
    checked_out = reservation.advance(ReservationStatus.CHECKED_OUT)
    uow.reservations.save(checked_out)
    return checked_out
