"""Handlers of the stay itself: check-in and check-out."""

from __future__ import annotations

from yadori.domain.conflicts import ConflictKind
from yadori.domain.errors import InvalidInput, InvalidReservationTransition
from yadori.domain.folio import Folio, FolioStatus
from yadori.domain.registry import validate_registry
from yadori.domain.reservations import Reservation, ReservationStatus, charged_until
from yadori.services.commands import CheckIn, CheckOut
from yadori.services.context import Context
from yadori.services.handlers.reservations import claim_room, occupy
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import post_room_nights


def check_in(cmd: CheckIn, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Register the guests as the law requires, give them the room, start the stay."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    if not reservation.arrival <= ctx.business_date < reservation.departure:
        raise InvalidReservationTransition(
            f"reservation {reservation.number} arrives {reservation.arrival}, "
            f"not on the business date {ctx.business_date}",
            reservation=reservation.number,
        )
    room_id = cmd.room_id or reservation.room_id
    if room_id is None:
        raise InvalidInput("assign a room before check-in, or name one", field="room_id")
    validate_registry(list(cmd.guests), reservation.adults)
    checked_in = _arrive(ctx, reservation).assign(room_id)
    room = uow.rooms.get(room_id, for_update=True)
    claim_room(
        uow, ctx, reservation, room, [n for n in reservation.night_dates if n >= ctx.business_date]
    )
    uow.rooms.save(occupy(ctx, room))
    uow.reservations.save(checked_in)
    uow.reservations.register_guests(checked_in.id, cmd.guests, ctx.at)
    return checked_in


def _arrive(ctx: Context, reservation: Reservation) -> Reservation:
    if ctx.replay and reservation.status in (
        ReservationStatus.CANCELLED,
        ReservationStatus.NO_SHOW,
    ):
        ctx.conflict(
            ConflictKind.LIFECYCLE,
            f"reservation:{reservation.id}",
            f"reservation {reservation.number} was {reservation.status.value} elsewhere but the "
            "guest checked in at the hotel: the stay is kept, review the cancellation",
            reservation=reservation.number,
            was=reservation.status.value,
        )
        return reservation.forced(ReservationStatus.CHECKED_IN)
    return reservation.advance(ReservationStatus.CHECKED_IN)


def check_out(cmd: CheckOut, uow: UnitOfWork, ctx: Context) -> Reservation:
    """Post the nights not yet charged, settle the folio, free the room (left dirty)."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    if reservation.status is not ReservationStatus.CHECKED_IN and not ctx.replay:
        reservation.advance(ReservationStatus.CHECKED_OUT)  # raises with the current status
    through = charged_until(reservation, ctx.business_date)
    post_room_nights(uow, ctx, reservation, through)
    _settle(uow, ctx, cmd, uow.folios.for_reservation(reservation.id))
    unused = [n for n in reservation.night_dates if n >= through]
    uow.reservations.release_nights(reservation.id, unused)
    if reservation.room_id is not None:
        room = uow.rooms.get(reservation.room_id, for_update=True)
        left = room.vacated() if ctx.replay else room.check_out()
        uow.rooms.save(left.stamped(ctx.stamp))
    if reservation.status is not ReservationStatus.CHECKED_IN:  # a replay: departure wins
        ctx.changed(status_was=reservation.status.value)
        checked_out = reservation.forced(ReservationStatus.CHECKED_OUT)
    else:
        checked_out = reservation.advance(ReservationStatus.CHECKED_OUT)
    uow.reservations.save(checked_out)
    return checked_out


def _settle(uow: UnitOfWork, ctx: Context, cmd: CheckOut, folio: Folio) -> None:
    rounding = uow.properties.get().tax_rounding
    if not ctx.replay:
        uow.folios.set_status(folio.settle(rounding, cmd.override))
        return
    if folio.status is FolioStatus.SETTLED:
        return
    balance = folio.balance(rounding)
    if balance != 0 and cmd.override is None:
        ctx.conflict(
            ConflictKind.SETTLED_WITH_BALANCE,
            f"folio:{folio.id}",
            f"the guest checked out at the hotel, but with what reached central the folio "
            f"owes {balance} yen: collect or adjust",
            balance=str(balance),
        )
        uow.folios.set_status(folio.settled_anyway())
        return
    uow.folios.set_status(folio.settle(rounding, cmd.override))
