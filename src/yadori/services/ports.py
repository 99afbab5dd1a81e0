"""Ports: what the use cases need from storage and the outside world, as Protocols.

Storage adapters implement these for SQLite and PostgreSQL; the contract suite in
``tests/contract`` runs against both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from yadori.domain.folio import Folio, FolioLine
from yadori.domain.property import Property
from yadori.domain.rates import RatePlan
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.domain.rooms import Room, RoomType
from yadori.services.roomservice_ports import (
    GuestTokenRepository,
    MenuRepository,
    OrderRepository,
    StockRepository,
)
from yadori.services.sync_ports import (
    Counters,
    Outbox,
    StaffRepository,
    SyncLedger,
    TicketRepository,
)


class Clock(Protocol):
    """The wall clock, injected so that tests and replays control time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PropertyRepository(Protocol):
    """The property this unit of work is scoped to."""

    def get(self) -> Property:
        """The property; raises NotFound when it was never created."""
        ...

    def add(self, prop: Property) -> None:
        """Create the property."""
        ...

    def save(self, prop: Property) -> None:
        """Store a changed property."""
        ...


class RoomTypeRepository(Protocol):
    """Room types of the property."""

    def get(self, room_type_id: str) -> RoomType:
        """One room type; raises UnknownRoomType."""
        ...

    def list(self) -> list[RoomType]:
        """All room types, by code."""
        ...

    def add(self, room_type: RoomType) -> None:
        """Create a room type."""
        ...


class RoomRepository(Protocol):
    """Rooms of the property and their housekeeping status."""

    def get(self, room_id: str, *, for_update: bool = False) -> Room:
        """One room; ``for_update`` locks it until the unit of work ends. Raises UnknownRoom."""
        ...

    def list(self) -> list[Room]:
        """All rooms, by number."""
        ...

    def count_sellable(self, room_type_id: str) -> int:
        """How many rooms of the type can be sold (not out of order)."""
        ...

    def add(self, room: Room) -> None:
        """Create a room."""
        ...

    def save(self, room: Room) -> None:
        """Store a changed room status."""
        ...


class RatePlanRepository(Protocol):
    """Rate plans and their prices."""

    def get(self, rate_plan_id: str) -> RatePlan:
        """One rate plan with all its prices; raises UnknownRatePlan."""
        ...

    def list(self) -> list[RatePlan]:
        """All rate plans, by code."""
        ...

    def add(self, plan: RatePlan) -> None:
        """Create a rate plan with its prices."""
        ...


class ReservationRepository(Protocol):
    """Reservations, their nightly prices and the room-nights they hold."""

    def get(self, reservation_id: str, *, for_update: bool = False) -> Reservation:
        """One reservation; raises UnknownReservation."""
        ...

    def add(self, reservation: Reservation) -> None:
        """Create a reservation with its price lines."""
        ...

    def save(self, reservation: Reservation) -> None:
        """Store a changed status or room."""
        ...

    def find(
        self,
        *,
        arrival: date | None = None,
        departure: date | None = None,
        in_house_on: date | None = None,
        statuses: Iterable[ReservationStatus] | None = None,
    ) -> list[Reservation]:
        """Reservations matching every filter given."""
        ...

    def held_nights(self, room_id: str, nights: Iterable[date], *, besides: str) -> set[date]:
        """Nights on which an active reservation other than ``besides`` holds the room."""
        ...

    def hold_room(self, reservation_id: str, room_id: str, nights: Iterable[date]) -> None:
        """Hold the room on those nights, replacing the reservation's holds of those nights."""
        ...

    def release_nights(self, reservation_id: str, nights: Iterable[date]) -> None:
        """Drop the room-nights the reservation holds on those nights."""
        ...

    def sold_by_night(self, room_type_id: str, nights: Iterable[date]) -> Mapping[date, int]:
        """How many active reservations of the type there are on each night."""
        ...

    def count_ahead(self, spans: Iterable[tuple[str, date, date]]) -> None:
        """Count at once the bookings of those (room type, first night, last night) spans.

        A replayed batch's bookings then ask ``sold_by_night`` without a round trip each.
        """
        ...

    def register_guests(
        self, reservation_id: str, entries: Iterable[RegistryEntry], at: datetime
    ) -> None:
        """Record the guest registry of a check-in."""
        ...

    def registry(self, reservation_id: str) -> list[RegistryEntry]:
        """The registry recorded for a stay, in order."""
        ...


class FolioRepository(Protocol):
    """Folios and their append-only lines."""

    def get(self, folio_id: str, *, for_update: bool = False, lines: bool = True) -> Folio:
        """One folio, with its lines unless ``lines`` is false; raises UnknownFolio."""
        ...

    def for_reservation(self, reservation_id: str, *, for_update: bool = False) -> Folio:
        """The folio of a stay; raises UnknownFolio."""
        ...

    def add(self, folio: Folio) -> None:
        """Create an empty folio."""
        ...

    def append(self, folio_id: str, line: FolioLine, *, actor: str, at: datetime) -> None:
        """Append one line; lines are never changed afterwards."""
        ...

    def set_status(self, folio: Folio) -> None:
        """Store the folio's status (open or settled)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the property's repositories and the outbox."""

    @property
    def property_id(self) -> str:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def properties(self) -> PropertyRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def room_types(self) -> RoomTypeRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def rooms(self) -> RoomRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def rate_plans(self) -> RatePlanRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def reservations(self) -> ReservationRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def folios(self) -> FolioRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def outbox(self) -> Outbox:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def counters(self) -> Counters:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def tickets(self) -> TicketRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def ledger(self) -> SyncLedger:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def menu(self) -> MenuRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def stock(self) -> StockRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def orders(self) -> OrderRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def guest_tokens(self) -> GuestTokenRepository:  # noqa: D102 - the attribute's type says it
        ...

    @property
    def staff(self) -> StaffRepository:  # noqa: D102 - the attribute's type says it
        ...

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None:
        """Make every change of this unit of work durable at once."""
        ...

    def touched(self) -> frozenset[str]:
        """Every aggregate the repositories changed so far (``room:<id>``, ``folio:<id>`` …)."""
        ...

    def savepoint(self) -> AbstractContextManager[object]:
        """A nested transaction: rolled back alone if its block raises."""
        ...

    def from_storage(self, exc: BaseException) -> bool:
        """Whether the database raised ``exc``, rather than the code run in this unit.

        Leaving the unit maps the database's errors (a duplicate key, a lost connection).
        """
        ...

    def flush(self) -> None:
        """Write now what the repositories hold back (a commit or a savepoint's end would)."""
        ...

    def refused_data(self, exc: BaseException) -> str | None:
        """The error's name, if the database refused ``exc``'s statement for its data.

        A foreign key, a value too long (not a duplicate key): refused again on every replay.
        """
        ...

    def read_ahead(self, keys: Iterable[str], *, to_publish: bool = False) -> None:
        """Lock and read at once the aggregates (``folio:<id>`` …) a batch is about to change.

        ``to_publish``: this unit will publish them, so it also learns what it needs to
        publish them without reading them again (decision 0050).
        """
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work on the node's database, scoped to one property."""

    def __call__(self, property_id: str, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; ``read_only`` ones never take the write lock."""
        ...
