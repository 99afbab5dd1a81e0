"""Ports of the sync engine and staff: the outbox, conflict tickets, central's ledger, staff.

The unit of work (ports.py) carries them beside the front-desk repositories; they are kept
here so that each ports module stays short. ``yadori.services.ports`` names them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from yadori.domain.conflicts import Conflict, ConflictTicket, TicketStatus
from yadori.domain.staff import LoginOutcome, Session, Staff
from yadori.sync.mutation import Mutation


class Outbox(Protocol):
    """The node's outbox, written in the same transaction as the rows a command changes."""

    def next_seq(self) -> int:
        """The next gapless sequence number of this node (taken only if the work commits)."""
        ...

    def heads(self, keys: Iterable[str]) -> tuple[str, ...]:
        """Ids of the latest mutations that touched any of these aggregates."""
        ...

    def append(self, mutation: Mutation, keys: Iterable[str]) -> None:
        """Store the mutation and make it the head of its aggregates."""
        ...

    def pending_count(self) -> int:
        """How many mutations wait to be sent."""
        ...


class TicketRepository(Protocol):
    """Conflict tickets: opened by merges, resolved by staff."""

    def open(self, ticket_id: str, conflict: Conflict, at: datetime) -> None:
        """Open a ticket for a conflict found while merging."""
        ...

    def exists(self, ticket_id: str) -> bool:
        """Whether that ticket was opened already."""
        ...

    def get(self, ticket_id: str) -> ConflictTicket:
        """One ticket; raises NotFound."""
        ...

    def list(self, status: TicketStatus | None = None) -> list[ConflictTicket]:
        """Tickets, oldest first, optionally of one status."""
        ...

    def save(self, ticket: ConflictTicket) -> None:
        """Store a ticket's resolution."""
        ...


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The result of one mutation of one origin, as central records it."""

    origin: str
    seq: int
    mutation_id: str
    result: str
    reason: str
    tickets: tuple[str, ...]


class SyncLedger(Protocol):
    """Central's record of applied mutations and its change feed."""

    def result_of(self, origin: str, seq: int) -> LedgerEntry | None:
        """The recorded result of (origin, seq), if applied before."""
        ...

    def results_of(self, origin: str, seqs: list[int]) -> Mapping[int, LedgerEntry]:
        """The recorded results of those of an origin's mutations applied before."""
        ...

    def results_by_id(self, mutation_ids: list[str]) -> Mapping[str, LedgerEntry]:
        """The recorded results of those mutations, by id, whatever seq they were applied at."""
        ...

    def publish(self, keys: Iterable[str]) -> None:
        """Write the current state of each aggregate to the change feed."""
        ...

    def mark(self, keys: Iterable[str]) -> None:
        """Mark aggregates changed, for the next pull of the property to publish."""
        ...

    def mark_asked(self, keys: Iterable[str]) -> int:
        """Mark aggregates an edge names, not trusted: of this property or held nowhere."""
        ...

    def publish_marked(self, also: Iterable[str] = ()) -> int:
        """Publish the marked aggregates and ``also`` these (once each); how many were marked."""
        ...

    def advance_chain(
        self, origin: str, number: int, crc: int, prev_crc: int, at: datetime
    ) -> bool:
        """Place a batch in its origin's chain; False when the chain was broken."""
        ...

    def record_many(self, entries: list[LedgerEntry], names: list[str], at: datetime) -> None:
        """Record results (all of one origin) in the same transaction as their effects."""
        ...


class StaffRepository(Protocol):
    """Staff of one property, their lockout state, login attempts and sessions."""

    def get(self, staff_id: str) -> Staff:
        """One staff member; UnknownStaff when missing."""
        ...

    def find(self, staff_id: str) -> Staff | None:
        """One staff member, or None."""
        ...

    def by_code(self, code: str) -> Staff | None:
        """The staff member with that login code, or None."""
        ...

    def all(self) -> list[Staff]:
        """Every staff member of the property."""
        ...

    def add(self, member: Staff) -> None:
        """A new staff member."""
        ...

    def save(self, member: Staff) -> None:
        """Store a changed staff member."""
        ...

    def lock_state(self, staff_id: str) -> tuple[int, datetime | None]:
        """Consecutive failures and the end of a lock."""
        ...

    def set_lock_state(self, staff_id: str, failures: int, locked_until: datetime | None) -> None:
        """Store the lockout state."""
        ...

    def record_attempt(  # noqa: PLR0917 - one row of the audit log
        self,
        attempt_id: str,
        staff_id: str | None,
        staff_code: str,
        outcome: LoginOutcome,
        at: datetime,
        node: str,
        offline: bool,
        token_id: str | None,
    ) -> None:
        """Append a login attempt to the audit log."""
        ...

    def attempts(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest login attempts."""
        ...

    def session(self, token_id: str) -> Session | None:
        """A token issued for this property, or None."""
        ...

    def add_session(self, session: Session) -> None:
        """Remember an issued token."""
        ...


class Counters(Protocol):
    """Per-node sequences for human-facing numbers."""

    def next(self, name: str) -> int:
        """The next value of a named sequence, gapless within committed work."""
        ...
