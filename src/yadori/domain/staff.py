"""Staff members as the hotel knows them: a code to log in with, a role, a PIN hash, a status.

Owned by central (created and changed only online) and cached at the edges through the pull,
so an edge can check a PIN while the WAN is down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from yadori.domain.errors import InvalidInput

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


class StaffStatus(StrEnum):
    """Whether a staff member may log in."""

    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class LoginOutcome(StrEnum):
    """What one login attempt came to (the audit log's words)."""

    SUCCESS = "success"
    BAD_PIN = "bad_pin"
    LOCKED = "locked"
    UNKNOWN = "unknown"  # no active staff member with that code


@dataclass(frozen=True, slots=True)
class Staff:
    """A member of staff of one property."""

    id: str
    code: str
    name: str
    role: str
    pin_hash: str
    status: StaffStatus = StaffStatus.ACTIVE

    def __post_init__(self) -> None:
        if not CODE_PATTERN.fullmatch(self.code):
            raise InvalidInput("a staff code is 1–32 letters, digits, - or _", field="code")
        if not self.name.strip():
            raise InvalidInput("a staff member needs a name", field="name")

    @property
    def active(self) -> bool:
        """Whether this staff member may log in."""
        return self.status is StaffStatus.ACTIVE

    def with_status(self, status: StaffStatus) -> Staff:
        """The same staff member with another status."""
        return replace(self, status=status)

    def with_pin_hash(self, pin_hash: str) -> Staff:
        """The same staff member with a new PIN hash."""
        return replace(self, pin_hash=pin_hash)


@dataclass(frozen=True, slots=True)
class Session:
    """A token issued to a staff member: what central checks a pushed mutation's actor against."""

    token_id: str
    staff_id: str
    kid: str
    role: str
    scopes: tuple[str, ...]
    offline: bool
    issued_at: datetime
    expires_at: datetime
