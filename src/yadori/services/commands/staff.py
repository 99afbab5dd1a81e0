"""Staff commands (DESIGN §8): staff members, their PINs, and every login attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from yadori.domain.staff import LoginOutcome, StaffStatus
from yadori.services.commands.base import Command
from yadori.sync.mutation import Priority


@dataclass(frozen=True, kw_only=True)
class CreateStaff(Command):
    """Add a member of staff (central only: staff are owned by central); never carries a PIN."""

    name: ClassVar[str] = "create_staff"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    code: str
    full_name: str
    role: str
    pin_hash: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class SetStaffStatus(Command):
    """Disable, re-enable or delete a staff member (their tokens stop working at once)."""

    name: ClassVar[str] = "set_staff_status"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    status: StaffStatus

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class ChangePin(Command):
    """Set a new PIN hash for a staff member (online only)."""

    name: ClassVar[str] = "change_pin"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    pin_hash: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class RecordLoginAttempt(Command):
    """One login attempt for the audit log and the lockout count; a success opens a session.

    A success carries the session's attestation (a JWT of audience ``yadori-session``, signed by
    the node that issued the token, not usable as a bearer token), which central verifies
    before it trusts mutations made under that token.
    """

    name: ClassVar[str] = "record_login_attempt"
    priority: ClassVar[Priority] = Priority.LOG
    attempt_id: str
    staff_id: str | None
    staff_code: str
    outcome: LoginOutcome
    node: str
    offline: bool
    max_failures: int
    lock_seconds: int
    token_id: str | None = None
    attestation: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        keys = [f"staff:{self.staff_id}" if self.staff_id else f"login:{self.attempt_id}"]
        if self.token_id:
            keys.append(f"session:{self.token_id}")
        return tuple(keys)
