"""Handlers of bookings: create, cancel, no-show, assign a room, move rooms."""

from __future__ import annotations

from datetime import date

from yadori.domain.conflicts import ConflictKind
from yadori.domain.errors import InvalidInput, RoomNotAvailable
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
    amounts = cmd.prices or tuple(plan.price(cmd.room_type_id, n) for n in nights)
    if len(amounts) != len(nights):
        raise InvalidInput("there must be one price per night", field="prices")
    number = cmd.number or human_number(ctx.node_prefix, uow.counters.next("reservation"))
    ctx.resolve(number=number, prices=amounts)
    reservation = Reservation(
        id=cmd.reservation_id,
        number=number,
        guest_name=cmd.guest_name,
        arrival=cmd.arrival,
        departure=cmd.departure,
        adults=cmd.adults,
        room_type_id=cmd.room_type_id,
        rate_plan_id=cmd.rate_plan_id,
        nights=tuple(
            NightPrice(n, a, plan.tax_included) for n, a in zip(nights, amounts, strict=True)
        ),
    )
    free = free_by_night(uow, cmd.room_type_id, nights)
    try:
        ensure_type_available(room_type.code, free)
    except RoomNotAvailable as exc:
        if not ctx.replay:
            raise
        ctx.conflict(
            ConflictKind.OVERBOOKED,
            f"room_type:{room_type.id}",
            exc.message,
            reservation=reservation.number,
            nights=",".join(d.isoformat() for d, left in sorted(free.items()) if left <= 0),
        )
    uow.reservations.add(reservation)
    uow.folios.add(Folio(cmd.folio_id, reservation.id))
    if cmd.room_id is not None:
        return _assign(uow, ctx, reservation, cmd.room_id)
    return reservation


def free_by_night(uow: UnitOfWork, room_type_id: str, nights: list[date]) -> dict[date, int]:
    """Rooms of a type still to sell on each night: sellable rooms minus active bookings."""
    sellable = uow.rooms.count_sellable(room_type_id)
    sold = uow.reservations.sold_by_night(room_type_id, nights)
    return {night: sellable - sold.get(night, 0) for night in nights}


def cancel_reservation(cmd: CancelReservation, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Cancel a booking; its room-nights are released."""
    return _end_before_arrival(uow, ctx, cmd.reservation_id, ReservationStatus.CANCELLED)


def mark_no_show(cmd: MarkNoShow, uow: UnitOfWork, ctx: Context) -> Reservation:
    """The guest never came; the room-nights are released."""
    return _end_before_arrival(uow, ctx, cmd.reservation_id, ReservationStatus.NO_SHOW)


def _end_before_arrival(
    uow: UnitOfWork, ctx: Context, reservation_id: str, to: ReservationStatus
) -> Reservation:
    reservation = uow.reservations.get(reservation_id, for_update=True)
    if ctx.replay and reservation.status is not ReservationStatus.BOOKED:
        ctx.changed(status_kept=reservation.status.value)  # the later lifecycle state wins
        return reservation
    ended = reservation.advance(to)
    uow.reservations.save(ended)
    uow.reservations.release_nights(ended.id, ended.night_dates)
    return ended


def assign_room(cmd: AssignRoom, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Put a booked reservation in a room for all of its nights."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    return _assign(uow, ctx, reservation, cmd.room_id)


def _assign(uow: UnitOfWork, ctx: Context, reservation: Reservation, room_id: str) -> Reservation:
    room = uow.rooms.get(room_id, for_update=True)
    assigned = reservation.assign(room.id)
    claim_room(uow, ctx, reservation, room, reservation.night_dates)
    uow.reservations.save(assigned)
    return assigned


def claim_room(
    uow: UnitOfWork, ctx: Context, reservation: Reservation, room: Room, nights: list[date]
) -> None:
    """Hold a room for the nights; a replay keeps both holders and opens a ticket instead."""
    held = uow.reservations.held_nights(room.id, nights, besides=reservation.id)
    try:
        ensure_room_free(room.number, nights, held)
    except RoomNotAvailable as exc:
        if not ctx.replay:
            raise
        ctx.conflict(
            ConflictKind.ROOM_DOUBLE_BOOKED,
            f"room:{room.id}",
            f"{exc.message}: move one of the stays",
            room=room.number,
            reservation=reservation.number,
            nights=",".join(d.isoformat() for d in sorted(held)),
        )
    uow.reservations.hold_room(reservation.id, room.id, nights)


def move_room(cmd: MoveRoom, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Move a stay to another room from tonight on; an in-house guest's old room is freed."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    first = max(ctx.business_date, reservation.arrival)
    to_room = uow.rooms.get(cmd.to_room_id, for_update=True)
    if to_room.id == reservation.room_id:
        raise InvalidInput(f"the stay is already in room {to_room.number}", field="to_room_id")
    moved = reservation.assign(to_room.id)
    if reservation.status is ReservationStatus.CHECKED_IN:
        _move_guest(uow, ctx, reservation, to_room)
    claim_room(uow, ctx, reservation, to_room, nights_from(reservation, first))
    uow.reservations.save(moved)
    return moved


def _move_guest(uow: UnitOfWork, ctx: Context, reservation: Reservation, to_room: Room) -> None:
    uow.rooms.save(occupy(ctx, to_room))
    if reservation.room_id is not None and reservation.room_id != to_room.id:
        old = uow.rooms.get(reservation.room_id, for_update=True)
        if old.occupancy is Occupancy.OCCUPIED:
            uow.rooms.save(old.check_out().stamped(ctx.stamp))


def occupy(ctx: Context, room: Room) -> Room:
    """A guest takes the room; a replay records what the hotel saw even if central disagrees."""
    if not ctx.replay:
        return room.check_in().stamped(ctx.stamp)
    if room.occupancy is Occupancy.OCCUPIED or room.service.value != "in_service":
        ctx.changed(room_status_was=room.status_code)
    return room.forced_occupied().stamped(ctx.stamp)
