"""Rooms, room types, rate plans, availability and housekeeping status."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from yadori.api.deps import Bus, PropertyId, RoomsActor
from yadori.api.schemas import ConditionIn, RoomOut, RoomTypeOut, ServiceIn
from yadori.domain.rooms import Room
from yadori.services import queries
from yadori.services.commands import SetRoomCondition, SetRoomService

router = APIRouter(prefix="/api/v1/properties/{code}", tags=["rooms"])


@router.get("/rooms")
async def list_rooms(bus: Bus, pid: PropertyId) -> list[RoomOut]:
    """Every room with its status code (VC, VD, VI, OC, OD, OI, OOS, OOO)."""
    return [RoomOut.of(r) for r in bus.read(pid, queries.rooms)]


@router.get("/rooms/{room_id}")
async def get_room(bus: Bus, pid: PropertyId, room_id: str) -> RoomOut:
    """One room."""
    return RoomOut.of(bus.read(pid, lambda uow: uow.rooms.get(room_id)))


@router.post("/rooms/{room_id}/condition")
async def set_condition(
    bus: Bus, pid: PropertyId, actor: RoomsActor, room_id: str, body: ConditionIn
) -> RoomOut:
    """Housekeeping reports the room dirty, clean or inspected."""
    cmd = SetRoomCondition(
        room_id=room_id, condition=body.condition, base_version=body.base_version
    )
    return RoomOut.of(bus.execute(pid, cmd, actor).value(Room))


@router.post("/rooms/{room_id}/service")
async def set_service(
    bus: Bus, pid: PropertyId, actor: RoomsActor, room_id: str, body: ServiceIn
) -> RoomOut:
    """Take the room out of service or order (with a reason), or back into service."""
    cmd = SetRoomService(
        room_id=room_id, service=body.service, reason=body.reason, base_version=body.base_version
    )
    return RoomOut.of(bus.execute(pid, cmd, actor).value(Room))


@router.get("/room-types")
async def list_room_types(bus: Bus, pid: PropertyId) -> list[RoomTypeOut]:
    """Every room type."""
    return [RoomTypeOut.of(t) for t in bus.read(pid, lambda uow: uow.room_types.list())]


@router.get("/rate-plans")
async def list_rate_plans(bus: Bus, pid: PropertyId) -> list[dict[str, object]]:
    """Every rate plan with its base prices per room type."""
    plans = bus.read(pid, lambda uow: uow.rate_plans.list())
    return [
        {
            "id": p.id,
            "code": p.code,
            "name_ja": p.name_ja,
            "name_en": p.name_en,
            "tax_included": p.tax_included,
            "base_prices": dict(p.base_prices),
        }
        for p in plans
    ]


@router.get("/availability")
async def availability(
    bus: Bus,
    pid: PropertyId,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> dict[str, dict[date, int]]:
    """Rooms left to sell per room type code and night, ``from`` up to ``to``."""
    return bus.read(pid, lambda uow: queries.availability(uow, start, end))
