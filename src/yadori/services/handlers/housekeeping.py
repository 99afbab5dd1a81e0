"""Handlers of housekeeping: room condition and service status, as registers (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Callable

from yadori.domain.conflicts import based_on_current, register_write_wins
from yadori.domain.rooms import Room
from yadori.services.commands import SetRoomCondition, SetRoomService
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def set_room_condition(cmd: SetRoomCondition, uow: UnitOfWork, ctx: Context) -> Room:
    """Record that a room is dirty, clean or inspected."""
    return _write(
        uow,
        ctx,
        (cmd.room_id, cmd.base_version, cmd.base_hlc),
        lambda r: r.set_condition(cmd.condition),
        lambda r: r.merged(cmd.condition, r.service, r.service_reason),
    )


def set_room_service(cmd: SetRoomService, uow: UnitOfWork, ctx: Context) -> Room:
    """Take a room out of service or order, or back into service."""
    return _write(
        uow,
        ctx,
        (cmd.room_id, cmd.base_version, cmd.base_hlc),
        lambda r: r.set_service(cmd.service, cmd.reason),
        lambda r: r.merged(r.condition, cmd.service, cmd.reason),
    )


def _write(
    uow: UnitOfWork,
    ctx: Context,
    target: tuple[str, int | None, str | None],
    change: Callable[[Room], Room],
    merge: Callable[[Room], Room],
) -> Room:
    """Apply a register write: based on the current version, or winning on priority, HLC, node.

    A replayed write that wins is taken as it is (``merge``): it was checked where it was made,
    against the state its writer saw, not against a state it never saw. Either way the write
    that lost is logged in the result: the incoming one (``superseded_by``, ``kept``) or, when
    a stale write outranks the one already here, that one (``overwrote``, ``was``).
    """
    room_id, base, base_hlc = target
    room = uow.rooms.get(room_id, for_update=True)
    if base is None:  # the writer saw this node's current state: record it
        base, base_hlc = room.version, room.stamp.hlc
    ctx.resolve(base_version=base, base_hlc=base_hlc)
    current = (room.version, room.stamp)
    if ctx.replay and not register_write_wins(current, (base, base_hlc), ctx.stamp):
        ctx.changed(superseded_by=room.stamp.node, kept=room.status_code)  # the loser is logged
        return room
    if ctx.replay and not based_on_current(current, (base, base_hlc)):  # a stale write won
        ctx.changed(overwrote=room.stamp.node, was=room.status_code)  # that loser is logged
    changed = (merge(room) if ctx.replay else change(room)).stamped(ctx.stamp)
    uow.rooms.save(changed)
    return changed
