"""What a handler knows about the command it runs besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from yadori.domain.conflicts import Conflict, ConflictKind, RegisterStamp
from yadori.sync.mutation import Actor


@dataclass(slots=True)
class Context:
    """Who issued the command, when, where, and on which business date.

    ``at`` comes from the mutation's HLC and ``business_date`` from the command itself, so a
    replay at central sees what the issuing node saw. ``replay`` is true when central (or an
    edge rebasing) re-executes a mutation made elsewhere: handlers then merge by the conflict
    rules of each kind of data and note conflicts instead of refusing.
    """

    actor: Actor
    at: datetime
    node_prefix: str
    business_date: date
    stamp: RegisterStamp
    replay: bool = False
    resolved: dict[str, object] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    read: set[str] = field(default_factory=set)
    changes: dict[str, object] = field(default_factory=dict)

    def resolve(self, **values: object) -> None:
        """Record inputs chosen while running (a number, a price) so a replay reuses them."""
        self.resolved.update(values)

    def conflict(self, kind: ConflictKind, aggregate: str, summary: str, **facts: str) -> None:
        """Note a conflict found while merging; the bus turns it into a ticket."""
        self.conflicts.append(Conflict(kind, aggregate, summary, facts))

    def changed(self, **what: object) -> None:
        """Note that a replay applied the command otherwise (``applied_with_changes``).

        For example a register write that lost, or a price confirmed differently.
        """
        self.changes.update(what)

    def depends_on(self, aggregate: str) -> None:
        """Make the mutation depend on an aggregate it reads but does not change."""
        self.read.add(aggregate)
