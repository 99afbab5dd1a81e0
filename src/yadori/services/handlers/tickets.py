"""Handlers of conflict tickets."""

from __future__ import annotations

from yadori.domain.conflicts import ConflictTicket, TicketStatus
from yadori.services.commands import ResolveTicket
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def resolve_ticket(cmd: ResolveTicket, uow: UnitOfWork, ctx: Context) -> ConflictTicket:
    """Close a ticket with what staff did; a replay of a ticket resolved twice keeps the first."""
    ticket = uow.tickets.get(cmd.ticket_id)
    if ctx.replay and ticket.status is TicketStatus.RESOLVED:
        ctx.changed(already_resolved_by=ticket.resolved_by)
        return ticket
    resolved = ticket.resolve(cmd.resolution, ctx.actor.staff_id)
    uow.tickets.save(resolved)
    return resolved
