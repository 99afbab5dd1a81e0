"""Reservations: one price line per night, a lifecycle, and the rooms they hold.

booked → checked_in → checked_out, and booked → cancelled or no_show. A room is an exclusive
resource per night: assigning a room that another active stay holds on any of the nights is
refused here (after a sync merge it becomes a conflict ticket instead; see the sync context).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import Enum

from yadori.domain.errors import InvalidInput, InvalidReservationTransition, RoomNotAvailable
from yadori.domain.limits import NAME, check_length
from yadori.domain.money import Yen


class ReservationStatus(Enum):
    """Where a reservation is in its lifecycle."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


TRANSITIONS: Mapping[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.BOOKED: frozenset(
        {ReservationStatus.CHECKED_IN, ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW}
    ),
    ReservationStatus.CHECKED_IN: frozenset({ReservationStatus.CHECKED_OUT}),
    ReservationStatus.CHECKED_OUT: frozenset(),
    ReservationStatus.CANCELLED: frozenset(),
    ReservationStatus.NO_SHOW: frozenset(),
}

ACTIVE = frozenset({ReservationStatus.BOOKED, ReservationStatus.CHECKED_IN})
"""Statuses that hold room-type inventory and room-nights."""


@dataclass(frozen=True, slots=True)
class NightPrice:
    """The price of one night of a reservation, fixed when it was booked."""

    night: date
    amount: Yen
    tax_included: bool


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booking of one room of a type for a run of nights, by a named guest."""

    id: str
    number: str
    guest_name: str
    arrival: date
    departure: date
    adults: int
    room_type_id: str
    rate_plan_id: str
    nights: tuple[NightPrice, ...]
    status: ReservationStatus = ReservationStatus.BOOKED
    room_id: str | None = None
    version: int = 1

    def __post_init__(self) -> None:
        if not self.guest_name.strip():
            raise InvalidInput("the guest's name is required", field="guest_name")
        check_length("guest_name", self.guest_name, NAME)
        if self.departure <= self.arrival:
            raise InvalidInput("departure must be after arrival", field="departure")
        if self.adults < 1:
            raise InvalidInput("a reservation needs at least one adult", field="adults")
        if [n.night for n in self.nights] != stay_nights(self.arrival, self.departure):
            raise InvalidInput("there must be one price line per night", field="nights")

    @property
    def night_dates(self) -> list[date]:
        """The nights of the stay: arrival up to, not including, departure."""
        return stay_nights(self.arrival, self.departure)

    def advance(self, to: ReservationStatus) -> Reservation:
        """Move along the lifecycle, refusing any step it does not allow."""
        if to not in TRANSITIONS[self.status]:
            raise InvalidReservationTransition(
                f"reservation {self.number} is {self.status.value}: cannot become {to.value}",
                reservation=self.number,
                status=self.status.value,
            )
        return replace(self, status=to, version=self.version + 1)

    def forced(self, to: ReservationStatus) -> Reservation:
        """The status a merge decided (by lifecycle order), whatever the transition table says."""
        return replace(self, status=to, version=self.version + 1)

    def assign(self, room_id: str) -> Reservation:
        """Put the reservation in a room (the caller checked the room is free)."""
        if self.status not in ACTIVE:
            raise InvalidReservationTransition(
                f"reservation {self.number} is {self.status.value}: no room can be assigned",
                reservation=self.number,
                status=self.status.value,
            )
        return replace(self, room_id=room_id, version=self.version + 1)


def stay_nights(arrival: date, departure: date) -> list[date]:
    """Every night from arrival up to the day before departure."""
    return [arrival + timedelta(days=i) for i in range((departure - arrival).days)]


def charged_until(reservation: Reservation, business_date: date) -> date:
    """The first night not charged if the guest leaves on ``business_date``.

    A guest pays every night before the day they leave, at least one night (a day use),
    and never past the booked departure (a longer stay is booked as an extension).
    """
    return min(reservation.departure, max(business_date, reservation.arrival + timedelta(1)))


def nights_from(reservation: Reservation, first: date) -> list[date]:
    """The nights of a stay on or after ``first``: what a room move takes with it."""
    return [n for n in reservation.night_dates if n >= first]


def ensure_room_free(room_number: str, wanted: Iterable[date], held: Iterable[date]) -> None:
    """Refuse when another active stay holds the room on any wanted night."""
    clash = sorted(set(wanted) & set(held))
    if clash:
        raise RoomNotAvailable(
            f"room {room_number} is taken on {', '.join(d.isoformat() for d in clash)}",
            room=room_number,
            nights=[d.isoformat() for d in clash],
        )


def ensure_type_available(room_type_code: str, free_by_night: Mapping[date, int]) -> None:
    """Refuse a booking when a night has no room of the type left to sell."""
    full = sorted(night for night, free in free_by_night.items() if free <= 0)
    if full:
        raise RoomNotAvailable(
            f"no {room_type_code} room left on {', '.join(d.isoformat() for d in full)}",
            room_type=room_type_code,
            nights=[d.isoformat() for d in full],
        )
