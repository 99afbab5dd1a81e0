"""Reservations and stays: book, cancel, assign, check in, move, check out, quote."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from yadori.api.deps import Bus, DeskActor, PropertyId
from yadori.api.folio_schemas import QuoteIn, QuoteOut, StayOut
from yadori.api.schemas import (
    AssignRoomIn,
    CancelIn,
    CheckInIn,
    CheckOutIn,
    MoveIn,
    ReservationIn,
    ReservationOut,
    RoomChargesIn,
)
from yadori.domain.folio import ManagerOverride
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.services import queries
from yadori.services.commands import (
    AssignRoom,
    CancelReservation,
    CheckIn,
    CheckOut,
    Command,
    CreateReservation,
    MarkNoShow,
    MoveRoom,
    PostRoomCharges,
)
from yadori.sync.mutation import Actor

router = APIRouter(prefix="/api/v1/properties/{code}", tags=["reservations"])


@router.get("/reservations")
async def list_reservations(
    bus: Bus,
    pid: PropertyId,
    arrival: date | None = None,
    departure: date | None = None,
    in_house_on: date | None = None,
    status_: Annotated[list[ReservationStatus] | None, Query(alias="status")] = None,
) -> list[ReservationOut]:
    """Reservations filtered by arrival, departure, nights in house and status."""
    found = bus.read(
        pid,
        lambda uow: queries.reservations(
            uow, arrival=arrival, departure=departure, in_house_on=in_house_on, statuses=status_
        ),
    )
    return [ReservationOut.of(r) for r in found]


@router.post("/reservations", status_code=status.HTTP_201_CREATED)
async def create_reservation(
    bus: Bus, pid: PropertyId, actor: DeskActor, body: ReservationIn
) -> ReservationOut:
    """Book a room type for a run of nights; the nightly prices are fixed now."""
    cmd = CreateReservation(
        reservation_id=body.reservation_id or new_id(),
        folio_id=body.folio_id or new_id(),
        guest_name=body.guest_name,
        arrival=body.arrival,
        departure=body.departure,
        adults=body.adults,
        room_type_id=body.room_type_id,
        rate_plan_id=body.rate_plan_id,
        room_id=body.room_id,
    )
    return _run(bus, pid, cmd, actor)


@router.get("/reservations/{reservation_id}")
async def get_stay(bus: Bus, pid: PropertyId, reservation_id: str) -> StayOut:
    """A reservation with its folio and guest registry."""
    return StayOut.of(bus.read(pid, lambda uow: queries.stay(uow, reservation_id)))


@router.post("/reservations/{reservation_id}/cancel")
async def cancel(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: CancelIn
) -> ReservationOut:
    """Cancel a booking that has not arrived."""
    return _run(
        bus, pid, CancelReservation(reservation_id=reservation_id, reason=body.reason), actor
    )


@router.post("/reservations/{reservation_id}/no-show")
async def no_show(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str
) -> ReservationOut:
    """Record that the guest never came."""
    return _run(bus, pid, MarkNoShow(reservation_id=reservation_id), actor)


@router.post("/reservations/{reservation_id}/assign-room")
async def assign_room(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: AssignRoomIn
) -> ReservationOut:
    """Assign a room for every night of the booking."""
    return _run(bus, pid, AssignRoom(reservation_id=reservation_id, room_id=body.room_id), actor)


@router.post("/reservations/{reservation_id}/check-in")
async def check_in(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: CheckInIn
) -> ReservationOut:
    """Register every guest (Hotel Business Act) and give them the room."""
    cmd = CheckIn(
        reservation_id=reservation_id,
        room_id=body.room_id,
        guests=tuple(g.entry() for g in body.guests),
    )
    return _run(bus, pid, cmd, actor)


@router.post("/reservations/{reservation_id}/move")
async def move(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: MoveIn
) -> ReservationOut:
    """Move the stay to another room from tonight on."""
    cmd = MoveRoom(reservation_id=reservation_id, to_room_id=body.to_room_id, reason=body.reason)
    return _run(bus, pid, cmd, actor)


@router.post("/reservations/{reservation_id}/room-charges")
async def post_room_charges(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: RoomChargesIn
) -> StayOut:
    """Post the room nights before ``through`` that are not on the folio yet."""
    bus.execute(pid, PostRoomCharges(reservation_id=reservation_id, through=body.through), actor)
    return StayOut.of(bus.read(pid, lambda uow: queries.stay(uow, reservation_id)))


@router.post("/reservations/{reservation_id}/check-out")
async def check_out(
    bus: Bus, pid: PropertyId, actor: DeskActor, reservation_id: str, body: CheckOutIn
) -> ReservationOut:
    """Post the nights still open, settle the folio (zero balance or an override), free the room."""
    override = (
        ManagerOverride(body.override.manager_id, body.override.reason) if body.override else None
    )
    return _run(bus, pid, CheckOut(reservation_id=reservation_id, override=override), actor)


@router.post("/quotes")
async def quote(bus: Bus, pid: PropertyId, body: QuoteIn) -> QuoteOut:
    """What a stay would cost today: room, service charge, accommodation and consumption tax."""
    return QuoteOut.of(
        bus.read(
            pid,
            lambda uow: queries.quote(
                uow,
                room_type_id=body.room_type_id,
                rate_plan_id=body.rate_plan_id,
                arrival=body.arrival,
                departure=body.departure,
                adults=body.adults,
            ),
        )
    )


def _run(bus: Bus, pid: str, cmd: Command, actor: Actor) -> ReservationOut:
    return ReservationOut.of(bus.execute(pid, cmd, actor).value(Reservation))
