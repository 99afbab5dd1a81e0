"""Handlers of housekeeping: room condition and service status."""

from __future__ import annotations

from yadori.domain.rooms import Room
from yadori.services.commands import SetRoomCondition, SetRoomService
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def set_room_condition(cmd: SetRoomCondition, uow: UnitOfWork, ctx: Context) -> Room:
    """Record that a room is dirty, clean or inspected."""
    room = uow.rooms.get(cmd.room_id, for_update=True).set_condition(cmd.condition)
    uow.rooms.save(room)
    return room


def set_room_service(cmd: SetRoomService, uow: UnitOfWork, ctx: Context) -> Room:
    """Take a room out of service or order, or back into service."""
    room = uow.rooms.get(cmd.room_id, for_update=True).set_service(cmd.service, cmd.reason)
    uow.rooms.save(room)
    return room
