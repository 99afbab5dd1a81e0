"""Conflict rules by kind of data (DESIGN §5), and the tickets staff resolve.

Append-only data (folio lines, orders) never conflicts. Counters merge by sum. Registers (room
housekeeping status) keep the write based on the current version; when two writes were based
on the same old version, the higher system priority wins, then the later HLC, then the node id.
State machines merge by lifecycle order, never by clock. An exclusive resource held twice after
merging (a room on a night, the last room of a type) opens a ticket and keeps both holders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from yadori.domain.errors import InvalidInput, RuleViolation
from yadori.domain.reservations import ReservationStatus


class ConflictKind(Enum):
    """What a ticket is about."""

    ROOM_DOUBLE_BOOKED = "room_double_booked"  # two stays hold one room on a night
    OVERBOOKED = "overbooked"  # more stays than sellable rooms of a type on a night
    LIFECYCLE = "lifecycle"  # e.g. checked in at the hotel after being cancelled centrally
    POSTED_AFTER_SETTLEMENT = "posted_after_settlement"  # a line reached a settled folio
    SETTLED_WITH_BALANCE = "settled_with_balance"  # check-out merged with money still owed
    OVERSOLD = "oversold"  # an item's stock below zero after merging (room service)


class TicketStatus(Enum):
    """Open until a member of staff resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A conflict found while merging, before it becomes a ticket."""

    kind: ConflictKind
    aggregate: str
    summary: str
    facts: dict[str, str]


@dataclass(frozen=True, slots=True)
class ConflictTicket:
    """A conflict staff must look at: the facts of both sides, and how it was resolved."""

    id: str
    kind: ConflictKind
    aggregate: str
    summary: str
    facts: dict[str, str]
    opened_at: datetime
    status: TicketStatus = TicketStatus.OPEN
    resolution: str = ""
    resolved_by: str = ""

    def resolve(self, resolution: str, by: str) -> ConflictTicket:
        """Close the ticket with what staff did about it."""
        if self.status is TicketStatus.RESOLVED:
            raise RuleViolation("the ticket is already resolved", ticket=self.id)
        if not resolution.strip():
            raise InvalidInput("say how the conflict was resolved", field="resolution")
        return replace(self, status=TicketStatus.RESOLVED, resolution=resolution, resolved_by=by)


SYSTEM_PRIORITY: dict[str, int] = {
    "central": 30,  # head office, revenue management, channel manager
    "edge": 20,  # the hotel's own front desk and housekeeping
    "guest": 10,  # the guest's own device (room service)
}
"""Which system wins a register when two writes were based on the same version."""


@dataclass(frozen=True, order=True, slots=True)
class RegisterStamp:
    """Who last wrote a register, in the order that decides a tie: priority, HLC, node."""

    priority: int
    hlc: str
    node: str


NO_STAMP = RegisterStamp(0, "", "")
"""The stamp of a register nobody has written since it was made."""

UNSTAMPED = RegisterStamp(-1, "", "")
"""A register written but not yet stamped: the handler stamps it before it is stored."""


@dataclass(frozen=True, slots=True)
class Register:
    """One register's state: how many writes it has had, and who made the last one.

    Each independent field has its own (a room's condition, its service status), so a write to
    one is never judged stale because of a concurrent write to the other.
    """

    version: int = 1
    stamp: RegisterStamp = NO_STAMP

    def written(self) -> Register:
        """One write more, to be stamped by whoever made it."""
        return Register(self.version + 1, UNSTAMPED)

    def stamped(self, stamp: RegisterStamp) -> Register:
        """Stamped by ``stamp`` if it was just written; else as it was."""
        return Register(self.version, stamp) if self.stamp == UNSTAMPED else self

    @property
    def current(self) -> tuple[int, RegisterStamp]:
        """(version, stamp): what a write's base is compared with."""
        return self.version, self.stamp


UNWRITTEN = Register()
"""A register nobody has written since it was made."""


def register_write_wins(
    current: tuple[int, RegisterStamp],
    base: tuple[int | None, str | None],
    incoming: RegisterStamp,
) -> bool:
    """Whether a register write applies: it was based on the current state, or outranks it.

    ``current`` is the register's (version, stamp) here; ``base`` the (version, HLC of the last
    write) its writer saw. Versions alone are not enough: two nodes count their own changes, so
    the same number can name different histories; the HLC of the last write names one.
    """
    return based_on_current(current, base) or incoming > current[1]


def based_on_current(
    current: tuple[int, RegisterStamp], base: tuple[int | None, str | None]
) -> bool:
    """Whether a register write's writer saw the state here: no base, or this version's history."""
    current_version, current_stamp = current
    base_version, base_hlc = base
    if base_version is None:
        return True
    return base_version == current_version and base_hlc in (None, current_stamp.hlc)


LIFECYCLE_RANK: dict[ReservationStatus, int] = {
    ReservationStatus.BOOKED: 0,
    ReservationStatus.CANCELLED: 1,
    ReservationStatus.NO_SHOW: 1,
    ReservationStatus.CHECKED_IN: 2,
    ReservationStatus.CHECKED_OUT: 3,
}
"""Merge order of a stay's status: what happened at the desk beats what was planned."""


def lifecycle_merge(current: ReservationStatus, incoming: ReservationStatus) -> ReservationStatus:
    """The status after merging two nodes' views: the later in the lifecycle wins."""
    return incoming if LIFECYCLE_RANK[incoming] > LIFECYCLE_RANK[current] else current
