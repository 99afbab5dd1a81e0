"""Stay commands: reservations, check-in and check-out, room moves and housekeeping.

Also the close of the business day (the night audit, which posts the night's room charges and
advances the date) and the resolution of conflict tickets by staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from yadori.domain.folio import ManagerOverride
from yadori.domain.money import Yen
from yadori.domain.registry import RegistryEntry
from yadori.domain.rooms import Condition, Service
from yadori.services.commands.base import Command
from yadori.sync.mutation import Priority

# --- reservations and stays ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateReservation(Command):
    """Book a room type for a run of nights at a rate plan; the price is fixed per night now."""

    name: ClassVar[str] = "create_reservation"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    folio_id: str
    guest_name: str
    arrival: date
    departure: date
    adults: int
    room_type_id: str
    rate_plan_id: str
    room_id: str | None = None
    number: str | None = None  # resolved at the issuing node, reused by a replay
    prices: tuple[Yen, ...] | None = None  # the nightly prices quoted, resolved likewise

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"folio:{self.folio_id}")

    def counts_sold(self) -> tuple[tuple[str, date, date], ...]:  # noqa: D102 - see Command
        if self.departure <= self.arrival:
            return ()  # refused by the handler: nothing to count
        return ((self.room_type_id, self.arrival, self.departure - timedelta(days=1)),)


@dataclass(frozen=True, kw_only=True)
class CancelReservation(Command):
    """Cancel a booking that has not arrived."""

    name: ClassVar[str] = "cancel_reservation"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


@dataclass(frozen=True, kw_only=True)
class MarkNoShow(Command):
    """Record that the guest never came."""

    name: ClassVar[str] = "mark_no_show"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


@dataclass(frozen=True, kw_only=True)
class AssignRoom(Command):
    """Put a booked reservation in a particular room for all its nights."""

    name: ClassVar[str] = "assign_room"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    room_id: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"room:{self.room_id}")


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command):
    """The guest arrives: registry recorded, room taken; the stay begins."""

    name: ClassVar[str] = "check_in"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    room_id: str | None = None
    guests: tuple[RegistryEntry, ...] = ()

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        rooms = (f"room:{self.room_id}",) if self.room_id else ()
        return (f"reservation:{self.reservation_id}", *rooms)


@dataclass(frozen=True, kw_only=True)
class MoveRoom(Command):
    """Move an in-house guest (or a booked stay) to another room from today's night on."""

    name: ClassVar[str] = "move_room"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    to_room_id: str
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"room:{self.to_room_id}")


@dataclass(frozen=True, kw_only=True)
class CheckOut(Command):
    """The guest leaves: remaining room nights posted, folio settled, room left dirty."""

    name: ClassVar[str] = "check_out"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    override: ManagerOverride | None = None

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


# --- housekeeping ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetRoomCondition(Command):
    """Housekeeping reports a room dirty, clean or inspected."""

    name: ClassVar[str] = "set_room_condition"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_id: str
    condition: Condition
    base_version: int | None = None  # the room's condition_version the writer saw (resolved)
    base_hlc: str | None = None  # the HLC of the condition's last write it saw (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room:{self.room_id}",)


@dataclass(frozen=True, kw_only=True)
class SetRoomService(Command):
    """Take a room out of service or order, or return it to service."""

    name: ClassVar[str] = "set_room_service"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_id: str
    service: Service
    reason: str = ""
    base_version: int | None = None  # the room's service_version the writer saw (resolved)
    base_hlc: str | None = None  # the HLC of the service's last write it saw (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room:{self.room_id}",)


# --- the business day and conflict tickets ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CloseBusinessDay(Command):
    """The night audit's core: post tonight's room charges of in-house stays, advance the date.

    ``business_date`` names the day being closed, so a retried or replayed close of the same
    day is refused instead of skipping a second day.
    """

    name: ClassVar[str] = "close_business_day"
    priority: ClassVar[Priority] = Priority.PAYMENT
    business_date: date
    reservations: tuple[str, ...] | None = None  # the stays charged, resolved at the issuer

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return ("business_day:current",)


@dataclass(frozen=True, kw_only=True)
class ResolveTicket(Command):
    """Close a conflict ticket, saying what staff did about it."""

    name: ClassVar[str] = "resolve_ticket"
    priority: ClassVar[Priority] = Priority.STAY
    ticket_id: str
    resolution: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"ticket:{self.ticket_id}",)
