"""A small hotel built through real commands, and shortcuts for the commands tests repeat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from support.auth import trust_actor
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import Reservation
from yadori.services import commands as c
from yadori.services.bus import Outcome
from yadori.sync.mutation import Actor

TODAY = date(2026, 12, 1)
ACTOR = Actor("staff-1", "token-1")


@dataclass
class Hotel:
    """Ids of the small test hotel and a bus to command it."""

    node: Yadori
    property_id: str
    std: str
    twn: str
    plan: str
    rooms: dict[str, str] = field(default_factory=dict)

    def run(self, command: c.Command) -> Outcome:
        """Run a command at the node as the test actor."""
        return self.node.bus.execute(self.property_id, command, ACTOR)

    def book(
        self,
        *,
        arrival: date = TODAY,
        nights: int = 2,
        adults: int = 1,
        room_type: str | None = None,
        room: str | None = None,
        name: str = "Sato Taro",
    ) -> Reservation:
        """Book a reservation (a standard room by default)."""
        cmd = c.CreateReservation(
            reservation_id=new_id(),
            folio_id=new_id(),
            guest_name=name,
            arrival=arrival,
            departure=arrival + timedelta(days=nights),
            adults=adults,
            room_type_id=room_type or self.std,
            rate_plan_id=self.plan,
            room_id=self.rooms[room] if room else None,
        )
        return self.run(cmd).value(Reservation)

    def check_in(
        self, reservation: Reservation, room: str, adults: int | None = None
    ) -> Reservation:
        """Check a reservation in to a room with a valid registry."""
        guests = tuple(guest(i) for i in range(adults or reservation.adults))
        cmd = c.CheckIn(reservation_id=reservation.id, room_id=self.rooms[room], guests=guests)
        return self.run(cmd).value(Reservation)

    def charges(self, amounts: Iterable[int], folio_id: str | None = None) -> list[Outcome]:
        """Post a misc charge of each amount to the folio (a new booking's if none given)."""
        folio = folio_id or self.folio_id(self.book())
        return [
            self.run(
                c.PostCharge(
                    folio_id=folio, line_id=new_id(), category="misc", description="x", amount=a
                )
            )
            for a in amounts
        ]

    def folio_id(self, reservation: Reservation) -> str:
        """The folio of a reservation."""
        return self.node.bus.read(
            self.property_id, lambda uow: uow.folios.for_reservation(reservation.id).id
        )


def guest(i: int = 0) -> RegistryEntry:
    """A resident guest with every field the registry requires."""
    return RegistryEntry(
        name=f"Guest {i}", address="東京都中央区日本橋1-1", contact="090-0000-0000"
    )


def build_hotel(node: Yadori, *, service_charge: str = "0", municipality: str = "tokyo") -> Hotel:
    """Create a property with STD (4 rooms, ¥11,000) and TWN (2 rooms, ¥22,000), tax included."""
    pid = new_id()
    hotel = Hotel(node, pid, new_id(), new_id(), new_id())
    hotel.run(
        c.CreateProperty(
            property_id=pid,
            code=f"T{pid[-6:]}".upper(),
            name_ja="テストホテル",
            name_en="Test Hotel",
            business_date=TODAY,
            municipality=municipality,
            service_charge_rate=Decimal(service_charge),
        )
    )
    if node.config.role == "central":
        trust_actor(node, pid, ACTOR)  # edges run commands as ACTOR: central knows its token
    hotel.run(
        c.CreateRoomType(
            room_type_id=hotel.std, code="STD", name_ja="標準", name_en="Standard", max_occupancy=2
        )
    )
    hotel.run(
        c.CreateRoomType(
            room_type_id=hotel.twn, code="TWN", name_ja="ツイン", name_en="Twin", max_occupancy=3
        )
    )
    for number, type_id in (
        ("101", hotel.std),
        ("102", hotel.std),
        ("103", hotel.std),
        ("104", hotel.std),
        ("201", hotel.twn),
        ("202", hotel.twn),
    ):
        room_id = new_id()
        hotel.rooms[number] = room_id
        hotel.run(
            c.CreateRoom(room_id=room_id, number=number, room_type_id=type_id, floor=int(number[0]))
        )
    prices = (
        c.Price(hotel.std, 11_000),
        c.Price(hotel.twn, 22_000),
        c.Price(hotel.std, 16_500, TODAY + timedelta(days=4)),
    )
    hotel.run(
        c.CreateRatePlan(
            rate_plan_id=hotel.plan, code="BAR", name_ja="基本", name_en="Base", prices=prices
        )
    )
    return hotel
