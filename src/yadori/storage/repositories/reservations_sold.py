"""How many active bookings each room type has per night: counted once, kept current.

Every booking asks how many reservations of its type are sold on its nights, and central
replays a batch's bookings in one transaction. Counting them again for every booking was a
round trip each. The reservation repository (built on this class) counts them once per
transaction, ahead for a replayed batch's spans, counts up what it adds, and forgets the
nights any other change to reservations touches; a savepoint rolled back forgets them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import sqlalchemy as sa

from yadori.domain.reservations import ACTIVE, Reservation
from yadori.storage.tables import reservation_nights, reservations

# Statements built once (see rooms.py).
_SOLD_OF_TYPES = (
    sa.select(reservation_nights.c.room_type_id, reservation_nights.c.night, sa.func.count())
    .join(reservations, reservations.c.id == reservation_nights.c.reservation_id)
    .where(
        reservation_nights.c.room_type_id.in_(sa.bindparam("types", expanding=True)),
        reservation_nights.c.night.between(sa.bindparam("first"), sa.bindparam("last")),
        reservation_nights.c.active.is_(True),
        reservations.c.status.in_([s.value for s in ACTIVE]),
    )
    .group_by(reservation_nights.c.room_type_id, reservation_nights.c.night)
)
# A miss reads the quarter after the nights asked too: a replayed batch books nights all over
# the next months, and each read is a round trip that first writes what is held back.
_SOLD_AHEAD = timedelta(days=92)
_AHEAD_AT_MOST = timedelta(days=366)


class SoldCounts:
    """The bookings counted per (room type, night) in one transaction, on its connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._sold: dict[tuple[str, date], int] = {}

    def sold_by_night(self, room_type_id: str, nights: Iterable[date]) -> Mapping[date, int]:
        """Active bookings of the type per night (counted once per transaction, see add)."""
        wanted = list(dict.fromkeys(nights))
        missing = [n for n in wanted if (room_type_id, n) not in self._sold]
        if missing:
            first, last = min(missing), max(missing) + _SOLD_AHEAD
            params = {"types": [room_type_id], "first": first, "last": last}
            found = {n: count for _, n, count in self._conn.execute(_SOLD_OF_TYPES, params)}
            for night in _days(first, last):
                self._sold.setdefault((room_type_id, night), found.get(night, 0))
        return {n: self._sold[room_type_id, n] for n in wanted if self._sold[room_type_id, n]}

    def count_ahead(self, spans: Iterable[tuple[str, date, date]]) -> None:
        """Count the bookings of those (room type, first night, last night) spans at once.

        One statement; each type's counts then hold from the first night it was asked for to
        the last. A type whose spans reach over more than a year is left to ``sold_by_night``.
        """
        bounds: dict[str, tuple[date, date]] = {}
        for type_id, first, last in spans:
            low, high = bounds.get(type_id, (first, last))
            bounds[type_id] = (min(low, first), max(high, last))
        wanted = {
            type_id: missing
            for type_id, (first, last) in bounds.items()
            if last - first <= _AHEAD_AT_MOST
            and (missing := [n for n in _days(first, last) if (type_id, n) not in self._sold])
        }
        if not wanted:
            return
        first = min(nights[0] for nights in wanted.values())
        last = max(nights[-1] for nights in wanted.values())
        params = {"types": list(wanted), "first": first, "last": last}
        found = {(t, n): count for t, n, count in self._conn.execute(_SOLD_OF_TYPES, params)}
        for type_id, nights in wanted.items():
            for night in nights:
                self._sold[type_id, night] = found.get((type_id, night), 0)

    def _count_added(self, reservation: Reservation) -> None:
        """Count a new reservation on its nights already counted (if it is active)."""
        if reservation.status in ACTIVE:
            for n in reservation.nights:
                counted = (reservation.room_type_id, n.night)
                if counted in self._sold:
                    self._sold[counted] += 1

    def _forget_sold(self, nights: Iterable[date]) -> None:
        """Count those nights again at the next ask (of every type: a night's type is its own)."""
        gone = set(nights)
        for counted in [k for k in self._sold if k[1] in gone]:
            del self._sold[counted]


def _days(first: date, last: date) -> list[date]:
    """Every night from first to last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
