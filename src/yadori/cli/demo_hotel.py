"""The demo hotel: a Tokyo property with 3 room types, 40 rooms and a week of reservations.

Everything is written through commands, so the demo's rows all have their mutations. Ids are
derived from names, so a central and an edge seeded apart hold the same hotel.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from yadori.cli.demo_menu import seed_menu
from yadori.domain.errors import DomainError
from yadori.domain.ids import derived_id
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import ReservationStatus
from yadori.services.bus import MessageBus
from yadori.services.commands import (
    CheckIn,
    CloseBusinessDay,
    Command,
    CreateProperty,
    CreateRatePlan,
    CreateReservation,
    CreateRoom,
    CreateRoomType,
    CreateStaff,
    Price,
)
from yadori.sync.mutation import Actor

CODE = "TKY1"
SEED_ACTOR = Actor("seed-demo", "seed")

DEMO_STAFF = (
    # code, name, role, PIN: printed by `make demo`; demo data, never a real hotel's
    ("FD01", "受付 花子 Hanako", "front_desk", "111111"),
    ("MG01", "支配人 健 Ken", "manager", "222222"),
    ("HK01", "清掃 さくら Sakura", "housekeeping", "333333"),
    ("KT01", "厨房 翔 Sho", "kitchen", "444444"),
    ("AD01", "管理者 Admin", "admin", "999999"),
)
"""The demo hotel's staff: code, name, role, PIN."""


class PinHashing(Protocol):
    """Hashes a PIN (the node's PinHasher)."""

    def hash(self, pin: str) -> str:
        """The stored form of a PIN."""
        ...


ROOM_TYPES = (
    # code, Japanese, English, occupancy, rooms, base price (tax included), weekend price
    ("STD", "スタンダードダブル", "Standard Double", 2, 24, 14_300, 17_600),
    ("TWN", "デラックスツイン", "Deluxe Twin", 3, 12, 19_800, 24_200),
    ("STE", "スイート", "Suite", 4, 4, 49_500, 60_500),
)

FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "健", "美咲", "翔", "陽菜", "大輔", "さくら")
FOREIGN = (
    ("Emma Wilson", "GBR"),
    ("Liam Chen", "SGP"),
    ("Sofia Rossi", "ITA"),
    ("Noah Müller", "DEU"),
    ("Olivia Brown", "USA"),
    ("Kim Minjun", "KOR"),
)


@dataclass(frozen=True, slots=True)
class DemoHotel:
    """What the seed made: the property and how much of each thing."""

    property_id: str
    code: str
    business_date: date
    rooms: int
    reservations: int
    in_house: int


def demo_id(label: str) -> str:
    """The id of a demo record, the same wherever the demo is seeded."""
    return derived_id("yadori-demo", label)


def seed(
    bus: MessageBus, today: date, *, seed_value: int = 7, hasher: PinHashing | None = None
) -> DemoHotel:
    """Create the demo hotel with yesterday's guests checked in and yesterday closed.

    With a hasher (central's), the demo staff of ``DEMO_STAFF`` are created too.
    """
    rng = random.Random(seed_value)  # noqa: S311 - demo data, not security
    pid = demo_id("property")
    yesterday = today - timedelta(days=1)
    run = _Runner(bus, pid)
    run(
        CreateProperty(
            property_id=pid,
            code=CODE,
            name_ja="宿り 東京 日本橋",
            name_en="Yadori Tokyo Nihonbashi",
            business_date=yesterday,
            municipality="tokyo",
            service_charge_rate=Decimal(0),
        )
    )
    if hasher is not None:
        for code, name, role, pin in DEMO_STAFF:
            staff_id = demo_id(f"staff:{code}")
            run(
                CreateStaff(
                    staff_id=staff_id,
                    code=code,
                    full_name=name,
                    role=role,
                    pin_hash=hasher.hash(pin),
                )
            )
    rooms = _rooms_and_rates(run, yesterday)
    seed_menu(run)
    made = _reservations(run, rng, yesterday)
    in_house = _check_in_arrivals(run, bus, pid, yesterday, rng)
    run(CloseBusinessDay(business_date=yesterday))
    return DemoHotel(pid, CODE, today, rooms, made, in_house)


class _Runner:
    def __init__(self, bus: MessageBus, property_id: str) -> None:
        self.bus = bus
        self.property_id = property_id

    def __call__(self, command: Command) -> object:
        return self.bus.execute(self.property_id, command, SEED_ACTOR).result


def _rooms_and_rates(run: _Runner, first_night: date) -> int:
    prices: list[Price] = []
    count = 0
    floor_rooms: dict[int, int] = {}
    for code, ja, en, occupancy, rooms, base, weekend in ROOM_TYPES:
        type_id = demo_id(f"room_type:{code}")
        run(
            CreateRoomType(
                room_type_id=type_id, code=code, name_ja=ja, name_en=en, max_occupancy=occupancy
            )
        )
        for _ in range(rooms):
            count += 1
            floor = 2 + (count - 1) // 10
            floor_rooms[floor] = floor_rooms.get(floor, 0) + 1
            number = f"{floor}{floor_rooms[floor]:02d}"
            run(
                CreateRoom(
                    room_id=demo_id(f"room:{number}"),
                    number=number,
                    room_type_id=type_id,
                    floor=floor,
                )
            )
        prices.append(Price(type_id, base))
        for offset in range(14):
            night = first_night + timedelta(days=offset)
            if night.weekday() in (4, 5):  # Friday and Saturday nights
                prices.append(Price(type_id, weekend, night))
    run(
        CreateRatePlan(
            rate_plan_id=demo_id("rate_plan:BAR"),
            code="BAR",
            name_ja="ベストレート（素泊まり）",
            name_en="Best available rate, room only",
            tax_included=True,
            prices=tuple(prices),
        )
    )
    return count


def _reservations(run: _Runner, rng: random.Random, first: date) -> int:
    made = 0
    for offset in range(7):
        arrival = first + timedelta(days=offset)
        for code, *_rest, rooms, _base, _weekend in ROOM_TYPES:
            for _ in range(max(1, rooms * 2 // 5)):
                nights = rng.choice((1, 1, 2, 3))
                made += _book(run, rng, code, arrival=arrival, nights=nights, n=made)
    return made


def _book(
    run: _Runner, rng: random.Random, code: str, *, arrival: date, nights: int, n: int
) -> int:
    adults = rng.choice((1, 1, 2, 2, 3)) if code != "STD" else rng.choice((1, 2))
    name = _guest_name(rng)
    try:
        run(
            CreateReservation(
                reservation_id=demo_id(f"reservation:{n}"),
                folio_id=demo_id(f"folio:{n}"),
                guest_name=name,
                arrival=arrival,
                departure=arrival + timedelta(days=nights),
                adults=adults,
                room_type_id=demo_id(f"room_type:{code}"),
                rate_plan_id=demo_id("rate_plan:BAR"),
            )
        )
    except DomainError:
        return 0  # sold out that night: the demo simply books fewer
    return 1


def _guest_name(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(FOREIGN)[0]
    return rng.choice(FAMILY) + " " + rng.choice(GIVEN)


def guests_for(name: str, adults: int, rng: random.Random) -> tuple[RegistryEntry, ...]:
    """Registry entries for a party: the booker and companions, foreign guests with passports."""
    nationality = dict(FOREIGN).get(name)
    entries = []
    for i in range(adults):
        guest = name if i == 0 else f"{name} ({i + 1})"
        if nationality:
            entries.append(
                RegistryEntry(
                    name=guest,
                    address=f"{rng.randint(1, 99)} Main Street ({nationality})",
                    contact=f"+{rng.randint(10, 99)} {rng.randint(1000000, 9999999)}",
                    resident_in_japan=False,
                    nationality=nationality,
                    passport_number=f"{nationality[:2]}{rng.randint(1000000, 9999999)}",
                    passport_copy_kept=True,
                )
            )
        else:
            entries.append(
                RegistryEntry(
                    name=guest,
                    address=f"東京都中央区日本橋{rng.randint(1, 3)}-{rng.randint(1, 20)}",
                    contact=f"090-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                )
            )
    return tuple(entries)


def _check_in_arrivals(
    run: _Runner, bus: MessageBus, pid: str, day: date, rng: random.Random
) -> int:
    arrivals = bus.read(
        pid, lambda uow: uow.reservations.find(arrival=day, statuses=[ReservationStatus.BOOKED])
    )
    free = bus.read(pid, lambda uow: uow.rooms.list())
    used: set[str] = set()
    done = 0
    for reservation in arrivals:
        room = next(
            (r for r in free if r.room_type_id == reservation.room_type_id and r.id not in used),
            None,
        )
        if room is None:
            continue
        used.add(room.id)
        run(
            CheckIn(
                reservation_id=reservation.id,
                room_id=room.id,
                guests=guests_for(reservation.guest_name, reservation.adults, rng),
            )
        )
        done += 1
    return done
