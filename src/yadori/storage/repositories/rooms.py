"""The property, its room types and rooms, in and out of their tables."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from yadori.domain.conflicts import Register, RegisterStamp
from yadori.domain.errors import NotFound, UnknownRoom, UnknownRoomType
from yadori.domain.money import Rounding
from yadori.domain.property import Property
from yadori.domain.rooms import Condition, Occupancy, Room, RoomType, Service
from yadori.storage.aggregates import row_doc
from yadori.storage.bulk import update_rows
from yadori.storage.sql import among
from yadori.storage.tables import properties, room_types, rooms
from yadori.sync.canonical import JSON

# Statements built once: the hot path of every command pays neither construction nor cache keys.
_PROPERTY = sa.select(properties).where(properties.c.id == sa.bindparam("pid"))
_ROOM = sa.select(rooms).where(
    rooms.c.property_id == sa.bindparam("pid"), rooms.c.id == sa.bindparam("room_id")
)
_ROOM_FOR_UPDATE = _ROOM.with_for_update()
_ROOM_SAVE = sa.update(rooms).where(rooms.c.id == sa.bindparam("b_id"))
_ROOM_INSERT = sa.insert(rooms)


class SqlProperties:
    """The property a unit of work is scoped to."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._touched = touched
        self._id = property_id

    def get(self) -> Property:
        """The property; NotFound when it was never created."""
        row = self._conn.execute(_PROPERTY, {"pid": self._id}).first()
        if row is None:
            raise NotFound(f"no property {self._id}: run `yadori seed-demo` or create it")
        return Property(
            id=row.id,
            code=row.code,
            name_ja=row.name_ja,
            name_en=row.name_en,
            business_date=row.business_date,
            municipality=row.municipality,
            timezone=row.timezone,
            service_charge_rate=row.service_charge_rate,
            service_charge_rounding=Rounding(row.service_charge_rounding),
            tax_rounding=Rounding(row.tax_rounding),
        )

    def add(self, prop: Property) -> None:
        """Create the property."""
        self._touched.add(f"property:{prop.id}")
        self._conn.execute(sa.insert(properties).values(**_property_row(prop)))

    def save(self, prop: Property) -> None:
        """Store a changed property."""
        self._touched.add(f"property:{prop.id}")
        values = _property_row(prop)
        del values["id"]
        self._conn.execute(sa.update(properties).where(properties.c.id == prop.id).values(values))


def _property_row(prop: Property) -> dict[str, object]:
    return {
        "id": prop.id,
        "code": prop.code,
        "name_ja": prop.name_ja,
        "name_en": prop.name_en,
        "business_date": prop.business_date,
        "municipality": prop.municipality,
        "timezone": prop.timezone,
        "service_charge_rate": prop.service_charge_rate,
        "service_charge_rounding": prop.service_charge_rounding.value,
        "tax_rounding": prop.tax_rounding.value,
    }


class SqlRoomTypes:
    """Room types of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._touched = touched
        self._property_id = property_id
        self._read: dict[str, RoomType] = {}  # read once per transaction

    def forget(self) -> None:
        """Drop what was read (a savepoint was rolled back)."""
        self._read.clear()

    def get(self, room_type_id: str) -> RoomType:
        """One room type; UnknownRoomType when it is not at this property."""
        if not self._read:  # a property has a handful: all of them in one statement
            self._read.update((r.id, _room_type(r)) for r in self._conn.execute(self._select()))
        if room_type_id not in self._read:
            raise UnknownRoomType(f"no room type {room_type_id}", room_type=room_type_id)
        return self._read[room_type_id]

    def list(self) -> list[RoomType]:
        """All room types, by code."""
        rows = self._conn.execute(self._select().order_by(room_types.c.code))
        return [_room_type(r) for r in rows]

    def add(self, room_type: RoomType) -> None:
        """Create a room type."""
        self._touched.add(f"room_type:{room_type.id}")
        self._read.clear()
        self._conn.execute(
            sa.insert(room_types).values(
                id=room_type.id,
                property_id=self._property_id,
                code=room_type.code,
                name_ja=room_type.name_ja,
                name_en=room_type.name_en,
                max_occupancy=room_type.max_occupancy,
            )
        )

    def _select(self) -> sa.Select[tuple[object, ...]]:
        return sa.select(room_types).where(room_types.c.property_id == self._property_id)


def _room_type(row: sa.Row[tuple[object, ...]]) -> RoomType:
    m = row._mapping
    return RoomType(m["id"], m["code"], m["name_ja"], m["name_en"], m["max_occupancy"])


class SqlRooms:
    """Rooms of one property with their housekeeping status."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._touched = touched
        self._property_id = property_id
        # A room locked in this transaction changes only through this repository, so it is
        # read once; its saves are written in one batched update before the connection runs
        # any other statement (the unit of work flushes), and before the commit.
        self._locked: dict[str, Room] = {}
        self._unwritten: dict[str, dict[str, object]] = {}
        self._sellable: dict[str, int] = {}  # until a room's type or service changes

    def forget(self) -> None:
        """Drop what was read and not written.

        A savepoint was rolled back, or rows were written behind the repository's back: what
        it holds is no longer the rows (decision 0050).
        """
        self._locked.clear()
        self._unwritten.clear()
        self._sellable.clear()

    def flush(self) -> None:
        """Write the rooms saved since the last flush, in one statement."""
        if self._unwritten:
            rows, self._unwritten = list(self._unwritten.values()), {}
            update_rows(self._conn, _ROOM_SAVE, rooms, rows, by=("b_id", "id"))

    def read_ahead(self, room_ids: list[str]) -> None:
        """Lock and read rooms about to be written."""
        wanted = sorted({r for r in room_ids if r not in self._locked})
        for n in range(0, len(wanted), 500):
            query = (
                self._select()
                .where(among(rooms.c.id, wanted[n : n + 500], self._conn.dialect))
                .order_by(rooms.c.id)
                .with_for_update()
            )
            for row in self._conn.execute(query):
                self._locked[row.id] = _room(row)

    def get(self, room_id: str, *, for_update: bool = False) -> Room:
        """One room, locked until the transaction ends when ``for_update``."""
        if room_id in self._locked:
            return self._locked[room_id]
        query = _ROOM_FOR_UPDATE if for_update else _ROOM
        row = self._conn.execute(query, {"pid": self._property_id, "room_id": room_id}).first()
        if row is None:
            raise UnknownRoom(f"no room {room_id} at this property", room=room_id)
        room = _room(row)
        if for_update:
            self._locked[room_id] = room
        return room

    def list(self) -> list[Room]:
        """All rooms, by number."""
        return [_room(r) for r in self._conn.execute(self._select().order_by(rooms.c.number))]

    def count_sellable(self, room_type_id: str) -> int:
        """How many rooms of the type can be sold (not out of order)."""
        if not self._sellable:  # every type's count in one statement
            query = (
                sa.select(room_types.c.id, sa.func.count(rooms.c.id))
                .select_from(room_types)
                .outerjoin(
                    rooms,
                    sa.and_(
                        rooms.c.room_type_id == room_types.c.id,
                        rooms.c.service != Service.OUT_OF_ORDER.value,
                    ),
                )
                .where(room_types.c.property_id == self._property_id)
                .group_by(room_types.c.id)
            )
            self._sellable.update((t, int(n)) for t, n in self._conn.execute(query))
        return self._sellable.get(room_type_id, 0)

    def held(self, room_ids: Iterable[str]) -> dict[str, dict[str, JSON]]:
        """Of these rooms, the rows of those this unit of work holds locked (decision 0050).

        As they stand now (written or about to be), as the change feed's documents carry them.
        """
        names = rooms.columns.keys()
        found: dict[str, dict[str, JSON]] = {}
        for room_id in room_ids:
            room = self._locked.get(room_id)
            if room is not None:
                values = {**_room_row(room), "property_id": self._property_id}
                found[room_id] = row_doc(rooms, tuple(values[name] for name in names))
        return found

    def add(self, room: Room) -> None:
        """Create a room."""
        self._touched.add(f"room:{room.id}")
        self._sellable.clear()
        self._conn.execute(_ROOM_INSERT, {"property_id": self._property_id, **_room_row(room)})

    def save(self, room: Room) -> None:
        """Store the room's status and version; a register written must have been stamped."""
        if room.unstamped:
            raise ValueError(f"room {room.number}: a register was written without a stamp")
        self._touched.add(f"room:{room.id}")
        before = self._locked.get(room.id)
        if before is None or (before.service, before.room_type_id) != (
            room.service,
            room.room_type_id,
        ):
            self._sellable.clear()
        values = _room_row(room)
        values["b_id"] = values.pop("id")
        self._unwritten[room.id] = values
        self._locked[room.id] = room

    def _select(self) -> sa.Select[tuple[object, ...]]:
        return sa.select(rooms).where(rooms.c.property_id == self._property_id)


def _room_row(room: Room) -> dict[str, object]:
    return {
        "id": room.id,
        "number": room.number,
        "room_type_id": room.room_type_id,
        "floor": room.floor,
        "occupancy": room.occupancy.value,
        "condition": room.condition.value,
        "service": room.service.value,
        "service_reason": room.service_reason,
        "version": room.version,
        "stamp_priority": room.stamp.priority,
        "stamp_hlc": room.stamp.hlc,
        "stamp_node": room.stamp.node,
        **_register_row("condition", room.condition_register),
        **_register_row("service", room.service_register),
    }


def _register_row(axis: str, register: Register) -> dict[str, object]:
    return {
        f"{axis}_version": register.version,
        f"{axis}_priority": register.stamp.priority,
        f"{axis}_hlc": register.stamp.hlc,
        f"{axis}_node": register.stamp.node,
    }


def _register(m: RowMapping, axis: str) -> Register:
    stamp = RegisterStamp(m[f"{axis}_priority"], m[f"{axis}_hlc"], m[f"{axis}_node"])
    return Register(m[f"{axis}_version"], stamp)


def _room(row: sa.Row[tuple[object, ...]]) -> Room:
    m = row._mapping
    return Room(
        id=m["id"],
        number=m["number"],
        room_type_id=m["room_type_id"],
        floor=m["floor"],
        occupancy=Occupancy(m["occupancy"]),
        condition=Condition(m["condition"]),
        service=Service(m["service"]),
        service_reason=m["service_reason"],
        version=m["version"],
        stamp=RegisterStamp(m["stamp_priority"], m["stamp_hlc"], m["stamp_node"]),
        condition_register=_register(m, "condition"),
        service_register=_register(m, "service"),
    )
