"""Conflict tickets: opened by a merge, resolved by staff."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yadori.domain.conflicts import Conflict, ConflictKind, ConflictTicket, TicketStatus
from yadori.domain.errors import NotFound
from yadori.storage.tables import conflict_tickets
from yadori.sync import canonical


class SqlTickets:
    """Conflict tickets of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched

    def open(self, ticket_id: str, conflict: Conflict, at: datetime) -> None:
        """Open a ticket for a conflict found while merging."""
        self._touched.add(f"ticket:{ticket_id}")
        self._conn.execute(
            sa.insert(conflict_tickets).values(
                id=ticket_id,
                property_id=self._property_id,
                kind=conflict.kind.value,
                aggregate=conflict.aggregate,
                summary=conflict.summary[:500],
                facts=canonical.encode(conflict.facts).decode(),
                status=TicketStatus.OPEN.value,
                resolution="",
                resolved_by="",
                opened_at=at,
            )
        )

    def exists(self, ticket_id: str) -> bool:
        """Whether a ticket with that id is already open or resolved."""
        query = sa.select(conflict_tickets.c.id).where(conflict_tickets.c.id == ticket_id)
        return self._conn.execute(query).first() is not None

    def get(self, ticket_id: str) -> ConflictTicket:
        """One ticket; NotFound when it is not at this property."""
        row = self._conn.execute(
            sa.select(conflict_tickets).where(
                conflict_tickets.c.property_id == self._property_id,
                conflict_tickets.c.id == ticket_id,
            )
        ).first()
        if row is None:
            raise NotFound(f"no conflict ticket {ticket_id}", ticket=ticket_id)
        return _ticket(row)

    def list(self, status: TicketStatus | None = None) -> list[ConflictTicket]:
        """Tickets of the property, oldest first, optionally of one status."""
        query = sa.select(conflict_tickets).where(
            conflict_tickets.c.property_id == self._property_id
        )
        if status is not None:
            query = query.where(conflict_tickets.c.status == status.value)
        rows = self._conn.execute(
            query.order_by(conflict_tickets.c.opened_at, conflict_tickets.c.id)
        )
        return [_ticket(r) for r in rows]

    def save(self, ticket: ConflictTicket) -> None:
        """Store a ticket's resolution."""
        self._touched.add(f"ticket:{ticket.id}")
        self._conn.execute(
            sa.update(conflict_tickets)
            .where(conflict_tickets.c.id == ticket.id)
            .values(
                status=ticket.status.value,
                resolution=ticket.resolution,
                resolved_by=ticket.resolved_by,
            )
        )


def _ticket(row: sa.Row[tuple[object, ...]]) -> ConflictTicket:
    m = row._mapping
    facts = canonical.decode(m["facts"])
    assert isinstance(facts, dict)  # noqa: S101 - written by open()
    return ConflictTicket(
        id=m["id"],
        kind=ConflictKind(m["kind"]),
        aggregate=m["aggregate"],
        summary=m["summary"],
        facts={k: str(v) for k, v in facts.items()},
        opened_at=m["opened_at"],
        status=TicketStatus(m["status"]),
        resolution=m["resolution"],
        resolved_by=m["resolved_by"],
    )
