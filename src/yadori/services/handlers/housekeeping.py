"""Handlers of housekeeping: room condition and service status, as registers (DESIGN §5).

Each is a register of its own (decision 0067): a write's base is the version and last writer
of the field it writes, so a cleaning and a concurrent out-of-order never judge each other.
"""

from __future__ import annotations

from collections.abc import Callable

from yadori.domain.conflicts import Register, based_on_current, register_write_wins
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
        lambda r: r.condition_register,
        (lambda r: r.set_condition(cmd.condition), lambda r: r.merged_condition(cmd.condition)),
    )


def set_room_service(cmd: SetRoomService, uow: UnitOfWork, ctx: Context) -> Room:
    """Take a room out of service or order, or back into service."""
    return _write(
        uow,
        ctx,
        (cmd.room_id, cmd.base_version, cmd.base_hlc),
        lambda r: r.service_register,
        (
            lambda r: r.set_service(cmd.service, cmd.reason),
            lambda r: r.merged_service(cmd.service, cmd.reason),
        ),
    )


def _write(
    uow: UnitOfWork,
    ctx: Context,
    target: tuple[str, int | None, str | None],
    register: Callable[[Room], Register],
    writes: tuple[Callable[[Room], Room], Callable[[Room], Room]],
) -> Room:
    """Apply a register write: based on the current version, or winning on priority, HLC, node.

    ``target`` is the room and the base its writer saw: the version and the HLC of the last
    write of the ``register`` written (this node's, when the command gives none). ``writes``
    are the change as staff make it (``change``) and as a replay that won applies it (``merge``).
    A replayed write that wins is taken as it is (``merge``): it was checked where it was made,
    against the state its writer saw, not against a state it never saw. Either way the write
    that lost is logged in the result: the incoming one (``superseded_by``, ``kept``) or, when
    a stale write outranks the one already here, that one (``overwrote``, ``was``).
    """
    room_id, base, base_hlc = target
    change, merge = writes
    room = uow.rooms.get(room_id, for_update=True)
    current = register(room).current
    if base is None:  # the writer saw this node's current state: record it
        base, base_hlc = current[0], current[1].hlc
    ctx.resolve(base_version=base, base_hlc=base_hlc)
    if ctx.replay and not register_write_wins(current, (base, base_hlc), ctx.stamp):
        ctx.changed(superseded_by=current[1].node, kept=room.status_code)  # the loser is logged
        return room
    if ctx.replay and not based_on_current(current, (base, base_hlc)):  # a stale write won
        ctx.changed(overwrote=current[1].node, was=room.status_code)  # that loser is logged
    changed = (merge(room) if ctx.replay else change(room)).stamped(ctx.stamp)
    uow.rooms.save(changed)
    return changed
