"""Handlers of staff and login commands."""

from __future__ import annotations

from datetime import timedelta

from yadori.auth.lockout import LockoutPolicy, LockState, after_failure, after_success
from yadori.auth.tokens import read_attestation
from yadori.domain.errors import AlreadyExists
from yadori.domain.staff import LoginOutcome, Session, Staff
from yadori.services.commands import ChangePin, CreateStaff, RecordLoginAttempt, SetStaffStatus
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def create_staff(cmd: CreateStaff, uow: UnitOfWork, ctx: Context) -> Staff:
    """Add a staff member; a code already used at the property is refused."""
    if uow.staff.by_code(cmd.code) is not None:
        raise AlreadyExists(f"staff code {cmd.code} is taken", code=cmd.code)
    member = Staff(cmd.staff_id, cmd.code, cmd.full_name, cmd.role, cmd.pin_hash)
    uow.staff.add(member)
    return member


def set_staff_status(cmd: SetStaffStatus, uow: UnitOfWork, ctx: Context) -> Staff:
    """Change whether a staff member may log in."""
    member = uow.staff.get(cmd.staff_id).with_status(cmd.status)
    uow.staff.save(member)
    return member


def change_pin(cmd: ChangePin, uow: UnitOfWork, ctx: Context) -> Staff:
    """Store a new PIN hash and clear the lockout."""
    member = uow.staff.get(cmd.staff_id).with_pin_hash(cmd.pin_hash)
    uow.staff.save(member)
    uow.staff.set_lock_state(member.id, 0, None)
    return member


def record_login_attempt(cmd: RecordLoginAttempt, uow: UnitOfWork, ctx: Context) -> LockState:
    """Log the attempt, count it for the lockout, and remember a success's session.

    The lockout count is a counter merged at central: each node's failures add up there, and
    central's state flows back to the edges with the staff member's row.
    """
    state = LockState()
    if cmd.staff_id and uow.staff.find(cmd.staff_id) is not None:
        state = _count(cmd, uow, ctx)
    uow.staff.record_attempt(
        cmd.attempt_id,
        cmd.staff_id,
        cmd.staff_code,
        cmd.outcome,
        ctx.at,
        cmd.node,
        cmd.offline,
        cmd.token_id,
    )
    if cmd.outcome is LoginOutcome.SUCCESS and cmd.attestation:
        uow.staff.add_session(_session(cmd.attestation))
    return state


def _session(attestation: str) -> Session:
    # Signed by this node (at the edge) or verified by central's actor check before the handler
    # runs (a replay), so its claims can be read as they are.
    claims = read_attestation(attestation)
    return Session(
        claims.token_id,
        claims.staff_id,
        claims.kid,
        claims.role.value,
        tuple(sorted(s.value for s in claims.scopes)),
        claims.offline,
        claims.issued_at,
        claims.expires_at,
    )


def _count(cmd: RecordLoginAttempt, uow: UnitOfWork, ctx: Context) -> LockState:
    assert cmd.staff_id is not None  # noqa: S101 - checked by the caller
    failures, until = uow.staff.lock_state(cmd.staff_id)
    state = LockState(failures, until)
    policy = LockoutPolicy(cmd.max_failures, timedelta(seconds=cmd.lock_seconds))
    if cmd.outcome is LoginOutcome.BAD_PIN:
        new = after_failure(state, ctx.at, policy)
    elif cmd.outcome is LoginOutcome.SUCCESS:
        new = after_success(state)
    else:
        return state
    if new != state:
        uow.staff.set_lock_state(cmd.staff_id, new.failures, new.locked_until)
    return new
