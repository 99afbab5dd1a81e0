"""Reservations, their nightly prices, the room-nights they hold and the guest registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from yadori.domain.accommodation_tax import Exemption
from yadori.domain.errors import UnknownReservation
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import ACTIVE, NightPrice, Reservation, ReservationStatus
from yadori.storage.bulk import insert_rows, update_rows
from yadori.storage.repositories.reservations_known import Known, RoomHolds
from yadori.storage.repositories.reservations_sold import SoldCounts
from yadori.storage.sql import among, chunks
from yadori.storage.tables import registry_entries, reservation_nights, reservations, room_nights

_ACTIVE = [s.value for s in ACTIVE]

# Statements built once (see rooms.py).
_GET = sa.select(reservations).where(
    reservations.c.property_id == sa.bindparam("pid"), reservations.c.id == sa.bindparam("rid")
)
_GET_FOR_UPDATE = _GET.with_for_update()
_NIGHTS = (
    sa.select(reservation_nights)
    .where(reservation_nights.c.reservation_id.in_(sa.bindparam("rids", expanding=True)))
    .order_by(reservation_nights.c.night)
)
_SAVE = sa.update(reservations).where(reservations.c.id == sa.bindparam("b_id"))
_HELD = (
    sa.select(room_nights.c.night)
    .join(reservations, reservations.c.id == room_nights.c.reservation_id)
    .where(
        room_nights.c.room_id == sa.bindparam("room_id"),
        room_nights.c.night.in_(sa.bindparam("nights", expanding=True)),
        room_nights.c.reservation_id != sa.bindparam("besides"),
        reservations.c.status.in_(_ACTIVE),
    )
)
_DROP_HOLDS = sa.delete(room_nights).where(
    room_nights.c.reservation_id == sa.bindparam("rid"),
    room_nights.c.night.in_(sa.bindparam("nights", expanding=True)),
)
_HOLD = sa.insert(room_nights)
_DROP_REGISTRY = sa.delete(registry_entries).where(
    registry_entries.c.reservation_id.in_(sa.bindparam("rids", expanding=True))
)
_HOLDERS = (
    sa.select(
        room_nights.c.room_id,
        room_nights.c.night,
        room_nights.c.reservation_id,
        reservations.c.status,
    )
    .join(reservations, reservations.c.id == room_nights.c.reservation_id)
    .where(
        room_nights.c.room_id.in_(sa.bindparam("rooms", expanding=True)),
        room_nights.c.night.between(sa.bindparam("first"), sa.bindparam("last")),
    )
)
# Holders are read ahead for the nights of the reservations a batch read, when they span a
# short stretch (a batch of one day's check-ins, moves and departures).
_HOLDERS_AT_MOST = timedelta(days=62)


class SqlReservations(SoldCounts):
    """Reservations of one property (the bookings counted per night: SoldCounts)."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        super().__init__(conn)
        self._touched = touched
        self._property_id = property_id
        # New reservations are written behind, like folio lines: the unit of work flushes
        # them before its connection runs any other statement, and before it commits. The
        # bookings counted per (room type, night) are kept for the transaction and counted
        # up by ``add``; any other change to reservations drops them.
        self._unwritten: list[dict[str, object]] = []
        self._unwritten_nights: list[dict[str, object]] = []
        self._known = Known()  # read ahead and locked (see reservations_known.py)
        self._saved: dict[str, dict[str, object]] = {}  # saves, written behind like adds
        self._holds = RoomHolds()  # who holds the batch's rooms (see read_holds_ahead)
        self._registry: dict[str, list[dict[str, object]]] = {}  # written behind, per stay

    def forget(self) -> None:
        """Drop what was counted and not written (a savepoint was rolled back)."""
        self._unwritten.clear()
        self._unwritten_nights.clear()
        self._sold.clear()
        self._known.forget()
        self._saved.clear()
        self._holds.forget()
        self._registry.clear()

    def flush(self) -> None:
        """Write the reservations added and saved since the last flush, a statement each."""
        if self._unwritten:
            rows, self._unwritten = self._unwritten, []
            nights, self._unwritten_nights = self._unwritten_nights, []
            insert_rows(self._conn, reservations, rows)
            insert_rows(self._conn, reservation_nights, nights)
        if self._saved:
            saved, self._saved = list(self._saved.values()), {}
            update_rows(self._conn, _SAVE, reservations, saved, by=("b_id", "id"))
        if self._registry:
            registry, self._registry = self._registry, {}
            for chunk in chunks(list(registry)):
                self._conn.execute(_DROP_REGISTRY, {"rids": chunk})
            insert_rows(
                self._conn, registry_entries, [r for rows in registry.values() for r in rows]
            )

    def read_ahead(self, reservation_ids: list[str]) -> None:
        """Lock and read, with their nights and holds, reservations about to be changed."""
        wanted = [r for r in dict.fromkeys(reservation_ids) if r not in self._known.locked]
        for chunk in chunks(wanted):
            query = (
                self._select()
                .where(among(reservations.c.id, chunk, self._conn.dialect))
                .order_by(reservations.c.id)
                .with_for_update()
            )
            rows = self._conn.execute(query).all()
            found = [r._mapping["id"] for r in rows]
            active: dict[str, dict[date, bool]] = {rid: {} for rid in found}
            holds: dict[str, dict[date, str]] = {rid: {} for rid in found}
            nights: dict[str, list[NightPrice]] = {rid: [] for rid in found}
            dialect = self._conn.dialect
            nights_of = sa.select(reservation_nights).where(
                among(reservation_nights.c.reservation_id, found, dialect)
            )
            for n in self._conn.execute(nights_of.order_by(reservation_nights.c.night)):
                nights[n.reservation_id].append(NightPrice(n.night, n.amount, n.tax_included))
                active[n.reservation_id][n.night] = bool(n.active)
            holds_of = sa.select(room_nights).where(
                among(room_nights.c.reservation_id, found, dialect)
            )
            for h in self._conn.execute(holds_of):
                holds[h.reservation_id][h.night] = h.room_id
            for row in rows:
                rid = row._mapping["id"]
                self._known.learn(_reservation(row, tuple(nights[rid])), active[rid], holds[rid])

    def read_holds_ahead(self, room_ids: list[str]) -> None:
        """Read who holds those rooms on the nights of the reservations read ahead."""
        nights = [n.night for r in self._known.locked.values() for n in r.nights]
        if not room_ids or not nights:
            return
        first, last = min(nights), max(nights)
        if last - first > _HOLDERS_AT_MOST:
            return  # too wide to be worth it: held_nights asks the table
        self._holds.forget()
        rooms = sorted(set(room_ids))
        for chunk in chunks(rooms):
            params = {"rooms": chunk, "first": first, "last": last}
            for room_id, night, reservation_id, status in self._conn.execute(_HOLDERS, params):
                self._holds.learn(room_id, night, reservation_id, status)
        for reservation in self._known.locked.values():
            self._holds.set_status(reservation.id, reservation.status)
        self._holds.rooms, self._holds.first, self._holds.last = frozenset(rooms), first, last

    def get(self, reservation_id: str, *, for_update: bool = False) -> Reservation:
        """One reservation; UnknownReservation when it is not at this property."""
        if for_update and reservation_id in self._known.locked:
            return self._known.locked[reservation_id]
        query = _GET_FOR_UPDATE if for_update else _GET
        row = self._conn.execute(query, {"pid": self._property_id, "rid": reservation_id}).first()
        if row is None:
            raise UnknownReservation(f"no reservation {reservation_id}", reservation=reservation_id)
        return self._load([row])[0]

    def add(self, reservation: Reservation) -> None:
        """Create the reservation and one price line per night."""
        self._touched.add(f"reservation:{reservation.id}")
        self._unwritten.append({"property_id": self._property_id, **_reservation_row(reservation)})
        self._unwritten_nights.extend(
            {
                "reservation_id": reservation.id,
                "night": n.night,
                "room_type_id": reservation.room_type_id,
                "amount": n.amount,
                "tax_included": n.tax_included,
                "active": True,
            }
            for n in reservation.nights
        )
        nights = {n.night: True for n in reservation.nights}
        self._known.learn(reservation, nights, {})  # new: no other transaction sees it
        self._holds.set_status(reservation.id, reservation.status)
        self._count_added(reservation)

    def save(self, reservation: Reservation) -> None:
        """Store the reservation's status, room and version."""
        self._touched.add(f"reservation:{reservation.id}")
        before = self._known.locked.get(reservation.id)
        if before is None:
            self._sold.clear()  # what it counted for is not known here
        elif (before.status in ACTIVE) != (reservation.status in ACTIVE):
            self._forget_sold(before.night_dates)  # it now counts, or no longer counts
        if before is not None:
            self._known.locked[reservation.id] = reservation
        self._holds.set_status(reservation.id, reservation.status)
        values = _reservation_row(reservation)
        values["b_id"] = values.pop("id")
        self._saved[reservation.id] = values

    def find(
        self,
        *,
        arrival: date | None = None,
        departure: date | None = None,
        in_house_on: date | None = None,
        statuses: Iterable[ReservationStatus] | None = None,
    ) -> list[Reservation]:
        """Reservations matching every filter given, by arrival then number."""
        query = self._select()
        if arrival is not None:
            query = query.where(reservations.c.arrival == arrival)
        if departure is not None:
            query = query.where(reservations.c.departure == departure)
        if in_house_on is not None:
            query = query.where(
                reservations.c.arrival <= in_house_on, reservations.c.departure > in_house_on
            )
        if statuses is not None:
            query = query.where(reservations.c.status.in_([s.value for s in statuses]))
        rows = self._conn.execute(
            query.order_by(reservations.c.arrival, reservations.c.number)
        ).all()
        return self._load(rows)

    def held_nights(self, room_id: str, nights: Iterable[date], *, besides: str) -> set[date]:
        """Nights on which another active reservation holds the room."""
        wanted = list(nights)
        if not wanted:
            return set()
        known = self._holds.held(room_id, wanted, besides)
        if known is not None:
            return known
        params = {"room_id": room_id, "nights": wanted, "besides": besides}
        return set(self._conn.execute(_HELD, params).scalars())

    def hold_room(self, reservation_id: str, room_id: str, nights: Iterable[date]) -> None:
        """Hold the room on those nights, replacing the reservation's holds of those nights."""
        wanted = list(nights)
        if not wanted:
            return
        self._touched.update((f"reservation:{reservation_id}", f"room:{room_id}"))
        known = self._known.knows_holds(reservation_id)
        revived = self._known.to_activate(reservation_id, wanted) if known else wanted
        if revived:  # a stay revived by a merge holds its nights again
            self._forget_sold(revived)
            self._set_active(reservation_id, revived, value=True)
        changed = self._known.changed_holds(reservation_id, room_id, wanted) if known else wanted
        if not changed:
            return  # already held in that room: nothing to write
        dropped = self._known.held(reservation_id, changed) if known else changed
        if dropped:
            self._drop_holds(reservation_id, dropped)
        self._conn.execute(
            _HOLD,
            [{"reservation_id": reservation_id, "night": n, "room_id": room_id} for n in changed],
        )
        self._known.set_holds(reservation_id, changed, room_id)
        self._holds.moved(reservation_id, changed, room_id)

    def release_nights(self, reservation_id: str, nights: Iterable[date]) -> None:
        """Drop the room-nights and the type inventory the reservation holds on those nights."""
        wanted = list(nights)
        if not wanted:
            return
        self._touched.add(f"reservation:{reservation_id}")
        self._forget_sold(wanted)
        self._drop_holds(reservation_id, wanted)
        self._set_active(reservation_id, wanted, value=False)

    def register_guests(
        self, reservation_id: str, entries: Iterable[RegistryEntry], at: datetime
    ) -> None:
        """Record the registry of a check-in, replacing any earlier one of the stay.

        Written behind: the next flush deletes the stay's earlier registry and inserts this.
        """
        self._touched.add(f"reservation:{reservation_id}")
        self._registry[reservation_id] = [
            {
                "reservation_id": reservation_id,
                "position": position,
                "name": e.name,
                "address": e.address,
                "contact": e.contact,
                "resident_in_japan": e.resident_in_japan,
                "nationality": e.nationality,
                "passport_number": e.passport_number,
                "passport_copy_kept": e.passport_copy_kept,
                "exemption": e.exemption.value,
                "registered_at": at,
            }
            for position, e in enumerate(entries, start=1)
        ]

    def registry(self, reservation_id: str) -> list[RegistryEntry]:
        """The registry of a stay, in order."""
        rows = self._conn.execute(
            sa.select(registry_entries)
            .where(registry_entries.c.reservation_id == reservation_id)
            .order_by(registry_entries.c.position)
        )
        return [
            RegistryEntry(
                name=r.name,
                address=r.address,
                contact=r.contact,
                resident_in_japan=r.resident_in_japan,
                nationality=r.nationality,
                passport_number=r.passport_number,
                passport_copy_kept=r.passport_copy_kept,
                exemption=Exemption(r.exemption),
            )
            for r in rows
        ]

    def _drop_holds(self, reservation_id: str, nights: list[date]) -> None:
        self._conn.execute(_DROP_HOLDS, {"rid": reservation_id, "nights": nights})
        self._known.set_holds(reservation_id, nights, None)
        self._holds.moved(reservation_id, nights, None)

    def _set_active(self, reservation_id: str, nights: list[date], *, value: bool) -> None:
        self._conn.execute(
            sa.update(reservation_nights)
            .where(
                reservation_nights.c.reservation_id == reservation_id,
                reservation_nights.c.night.in_(nights),
            )
            .values(active=value)
        )
        self._known.set_active(reservation_id, nights, value)

    def _select(self) -> sa.Select[tuple[object, ...]]:
        return sa.select(reservations).where(reservations.c.property_id == self._property_id)

    def _load(self, rows: Iterable[sa.Row[tuple[object, ...]]]) -> list[Reservation]:
        listed = list(rows)
        nights: dict[str, list[NightPrice]] = {r._mapping["id"]: [] for r in listed}
        for chunk in chunks(list(nights)):
            for n in self._conn.execute(_NIGHTS, {"rids": chunk}):
                nights[n.reservation_id].append(NightPrice(n.night, n.amount, n.tax_included))
        return [_reservation(r, tuple(nights[r._mapping["id"]])) for r in listed]


def _reservation_row(reservation: Reservation) -> dict[str, object]:
    return {
        "id": reservation.id,
        "number": reservation.number,
        "guest_name": reservation.guest_name,
        "arrival": reservation.arrival,
        "departure": reservation.departure,
        "adults": reservation.adults,
        "room_type_id": reservation.room_type_id,
        "rate_plan_id": reservation.rate_plan_id,
        "status": reservation.status.value,
        "room_id": reservation.room_id,
        "version": reservation.version,
    }


def _reservation(row: sa.Row[tuple[object, ...]], nights: tuple[NightPrice, ...]) -> Reservation:
    m = row._mapping
    return Reservation(
        id=m["id"],
        number=m["number"],
        guest_name=m["guest_name"],
        arrival=m["arrival"],
        departure=m["departure"],
        adults=m["adults"],
        room_type_id=m["room_type_id"],
        rate_plan_id=m["rate_plan_id"],
        nights=nights,
        status=ReservationStatus(m["status"]),
        room_id=m["room_id"],
        version=m["version"],
    )
