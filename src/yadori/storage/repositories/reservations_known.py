"""What a transaction already knows of the reservations it locked: read once, kept current.

Central replays a batch's check-ins, moves and departures in one transaction. Reading each
reservation, its nights and its room holds again for every command, and rewriting holds that
are already right, was most of a check-in's round trips. The reservation repository reads the
batch's reservations ahead (locked, so only this transaction changes them) and keeps this
record current with every write it makes; a savepoint rolled back forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yadori.domain.reservations import ACTIVE, Reservation, ReservationStatus


@dataclass
class Known:
    """Locked reservations, their nights' active flags and their room holds."""

    locked: dict[str, Reservation] = field(default_factory=dict)
    active: dict[str, dict[date, bool]] = field(default_factory=dict)
    holds: dict[str, dict[date, str]] = field(default_factory=dict)

    def forget(self) -> None:
        """Know nothing (a savepoint was rolled back)."""
        self.locked.clear()
        self.active.clear()
        self.holds.clear()

    def learn(
        self, reservation: Reservation, active: dict[date, bool], holds: dict[date, str]
    ) -> None:
        """A reservation read (or created) and locked, with its nights and holds."""
        self.locked[reservation.id] = reservation
        self.active[reservation.id] = active
        self.holds[reservation.id] = holds

    def knows_holds(self, reservation_id: str) -> bool:
        """Whether the nights and holds of the reservation are known."""
        return reservation_id in self.active and reservation_id in self.holds

    def to_activate(self, reservation_id: str, nights: list[date]) -> list[date]:
        """Those of the nights that exist and are inactive."""
        flags = self.active[reservation_id]
        return [n for n in nights if flags.get(n) is False]

    def changed_holds(self, reservation_id: str, room_id: str, nights: list[date]) -> list[date]:
        """Those of the nights not held in that room by the reservation."""
        holds = self.holds[reservation_id]
        return [n for n in nights if holds.get(n) != room_id]

    def held(self, reservation_id: str, nights: list[date]) -> list[date]:
        """Those of the nights the reservation holds some room on."""
        holds = self.holds[reservation_id]
        return [n for n in nights if n in holds]

    def set_active(self, reservation_id: str, nights: list[date], value: bool) -> None:
        """Nights made active or inactive."""
        if reservation_id in self.active:
            flags = self.active[reservation_id]
            for night in nights:
                if night in flags:
                    flags[night] = value

    def set_holds(self, reservation_id: str, nights: list[date], room_id: str | None) -> None:
        """Nights now held in a room (or no longer held, for None)."""
        if reservation_id not in self.holds:
            return
        holds = self.holds[reservation_id]
        for night in nights:
            if room_id is None:
                holds.pop(night, None)
            else:
                holds[night] = room_id


@dataclass
class RoomHolds:
    """Who holds the rooms a batch names, on the nights of the reservations it read ahead.

    Read once (with each holder's status) and kept current with every hold, release and status
    the repository writes, so a replayed check-in asks no statement to learn whether another
    stay holds its room. Asked about a room or a night outside what was read, it does not know.
    """

    rooms: frozenset[str] = frozenset()
    first: date | None = None
    last: date | None = None
    holders: dict[tuple[str, date], set[str]] = field(default_factory=dict)
    rooms_of: dict[str, dict[date, str]] = field(default_factory=dict)  # of the rooms read
    status: dict[str, ReservationStatus] = field(default_factory=dict)

    def forget(self) -> None:
        """Know nothing (a savepoint was rolled back)."""
        self.rooms = frozenset()
        self.first = self.last = None
        self.holders.clear()
        self.rooms_of.clear()
        self.status.clear()

    def held(self, room_id: str, nights: list[date], besides: str) -> set[date] | None:
        """Nights on which another active reservation holds the room.

        None when it is not known: a room or a night outside what was read, or a holder whose
        status is not known.
        """
        if room_id not in self.rooms or self.first is None or self.last is None:
            return None
        if not all(self.first <= n <= self.last for n in nights):
            return None
        found: set[date] = set()
        for night in nights:
            for holder in self.holders.get((room_id, night), ()):
                if holder == besides:
                    continue
                status = self.status.get(holder)
                if status is None:
                    return None
                if status in ACTIVE:
                    found.add(night)
        return found

    def set_status(self, reservation_id: str, status: ReservationStatus) -> None:
        """A reservation's status, as written."""
        self.status[reservation_id] = status

    def moved(self, reservation_id: str, nights: list[date], room_id: str | None) -> None:
        """The reservation now holds the room on those nights (or no room, for None)."""
        rooms = self.rooms_of.setdefault(reservation_id, {})
        for night in nights:
            before = rooms.pop(night, None)
            if before is not None:
                self.holders[before, night].discard(reservation_id)
            if room_id is not None and room_id in self.rooms:
                self.holders.setdefault((room_id, night), set()).add(reservation_id)
                rooms[night] = room_id

    def learn(self, room_id: str, night: date, reservation_id: str, status: str) -> None:
        """A hold read from the table."""
        self.holders.setdefault((room_id, night), set()).add(reservation_id)
        self.rooms_of.setdefault(reservation_id, {})[night] = room_id
        self.status.setdefault(reservation_id, ReservationStatus(status))
