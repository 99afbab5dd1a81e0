"""The front desk's work, driven through the HTTP API like the desk's own screens would.

Each kind of work is planned as a list of steps from what the node shows now (today's arrivals,
tonight's in-house guests, the departures, the dirty rooms) and the steps then run one by one,
so that a caller can pace them, show progress, and count them. ``run_day`` is the scripted
front-desk day; the outage drill (``drill.py``) reuses the same work offline.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx2

from yadori.cli.demo_hotel import demo_id, guests_for
from yadori.sync.canonical import to_json

CHARGES = (
    ("minibar", "ミネラルウォーター Mineral water", 300, "reduced"),
    ("minibar", "ビール Beer", 600, "standard"),
    ("room_service", "ルームサービス 朝食 Breakfast", 2_800, "standard"),
    ("misc", "クリーニング Laundry", 1_500, "standard"),
)
WALK_INS = ("山田 一郎", "Lucas Martin", "井上 真央")
HOLDING = ("booked", "checked_in")  # the statuses whose room is held on their nights


class DemoFailed(RuntimeError):
    """The API refused a step the demo expected to work."""


@dataclass
class DayReport:
    """What the desk did, counted."""

    business_date: str = ""
    checked_in: int = 0
    walk_ins: int = 0
    charges: int = 0
    charged_yen: int = 0
    checked_out: int = 0
    paid_yen: int = 0
    payments: Counter[str] = field(default_factory=Counter)
    moves: int = 0
    rooms_cleaned: int = 0
    days_closed: int = 0
    errors_shown: list[str] = field(default_factory=list)

    @property
    def operations(self) -> int:
        """Writes made: each is one command, so one mutation in the outbox."""
        return (
            self.checked_in
            + 2 * self.walk_ins  # booked, then checked in
            + self.charges
            + self.checked_out
            + sum(self.payments.values())
            + self.moves
            + 2 * self.rooms_cleaned  # cleaned, then inspected
            + self.days_closed
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One piece of desk work: what it is, and doing it."""

    label: str
    run: Callable[[], None]


class Desk:
    """The API as the desk uses it, failing loudly on anything unexpected."""

    def __init__(self, client: httpx2.Client, code: str) -> None:
        self.client = client
        self.base = f"/api/v1/properties/{code}"

    def get(self, path: str, **params: Any) -> Any:
        """GET a path of the property and return the JSON answer."""
        return self._check(self.client.get(self.base + path, params=params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body to a path of the property and return the JSON answer."""
        return self._check(self.client.post(self.base + path, json=body))

    def business_date(self) -> date:
        """The property's business date."""
        return date.fromisoformat(self.get("")["business_date"])

    def rooms(self) -> list[dict[str, Any]]:
        """Every room with its status code (VC, VD, OC …)."""
        rooms: list[dict[str, Any]] = self.get("/rooms")
        return rooms

    def held_rooms(self, first: date, last: date) -> set[str]:
        """Rooms a stay holds on any night from ``first`` to ``last`` (inclusive)."""
        held: set[str] = set()
        night = first
        while night <= last:
            for r in self.get("/reservations", in_house_on=night.isoformat(), status=HOLDING):
                if r["room_id"]:
                    held.add(r["room_id"])
            night += timedelta(days=1)
        return held

    @staticmethod
    def _check(response: httpx2.Response) -> Any:
        if response.status_code >= 400:
            raise DemoFailed(f"{response.request.method} {response.request.url}: {response.text}")
        return response.json()


def run_day(
    client: httpx2.Client,
    code: str,
    *,
    seed_value: int = 11,
    run: Callable[[list[Step]], None] | None = None,
) -> DayReport:
    """Run the day at the edge and return what was done; ``run`` does each batch of steps."""
    rng = random.Random(seed_value)  # noqa: S311 - demo data
    desk = Desk(client, code)
    today = desk.business_date()
    report = DayReport(business_date=today.isoformat())
    plans: list[Callable[[], list[Step]]] = [
        lambda: check_in_arrivals(desk, report, rng, today),
        lambda: post_charges(desk, report, rng, today),
        lambda: check_out_departures(desk, report, rng, today),
        lambda: clean_rooms(desk, report),
    ]
    for plan in plans:
        (run or run_steps)(plan())
    show_a_refusal(desk, report, today)
    return report


def run_steps(steps: Iterable[Step]) -> None:
    """Do each step in turn."""
    for step in steps:
        step.run()


def check_in_arrivals(
    desk: Desk,
    report: DayReport,
    rng: random.Random,
    day: date,
    *,
    avoid: frozenset[str] = frozenset(),
) -> list[Step]:
    """Give each of the day's arrivals a clean room of the booked type and register the guests."""
    arrivals = desk.get("/reservations", arrival=day.isoformat(), status="booked")
    if not arrivals:
        return []
    last = max(date.fromisoformat(r["departure"]) for r in arrivals) - timedelta(days=1)
    held = desk.held_rooms(day, last) | avoid
    free = [r for r in desk.rooms() if r["status"] in ("VC", "VI") and r["id"] not in held]
    steps = []
    for reservation in arrivals:
        room = next((r for r in free if r["room_type_id"] == reservation["room_type_id"]), None)
        if room is None:
            continue
        free.remove(room)
        guests = guests_for(reservation["guest_name"], reservation["adults"], rng)
        body = {"room_id": room["id"], "guests": [to_json(dataclasses.asdict(g)) for g in guests]}
        steps.append(
            Step(
                f"check-in {reservation['guest_name']} → {room['number']}",
                _check_in(desk, report, reservation["id"], body),
            )
        )
    return steps


def _check_in(
    desk: Desk, report: DayReport, reservation_id: str, body: dict[str, Any]
) -> Callable[[], None]:
    def run() -> None:
        desk.post(f"/reservations/{reservation_id}/check-in", body)
        report.checked_in += 1

    return run


def post_charges(
    desk: Desk, report: DayReport, rng: random.Random, day: date, *, share: float = 0.5
) -> list[Step]:
    """Post minibar, room-service and laundry charges to some of the night's in-house folios."""
    in_house = desk.get("/reservations", in_house_on=day.isoformat(), status="checked_in")
    steps = []
    for reservation in in_house:
        if rng.random() >= share:
            continue
        category, description, amount, tax_class = rng.choice(CHARGES)
        body = {
            "category": category,
            "description": description,
            "amount": amount,
            "tax_class": tax_class,
        }
        steps.append(
            Step(
                f"charge ¥{amount:,} to {reservation['number']}",
                _charge(desk, report, reservation["id"], body),
            )
        )
    return steps


def _charge(
    desk: Desk, report: DayReport, reservation_id: str, body: dict[str, Any]
) -> Callable[[], None]:
    def run() -> None:
        folio_id = desk.get(f"/reservations/{reservation_id}")["folio"]["id"]
        desk.post(f"/folios/{folio_id}/charges", body)
        report.charges += 1
        report.charged_yen += int(body["amount"])

    return run


def check_out_departures(
    desk: Desk, report: DayReport, rng: random.Random, day: date
) -> list[Step]:
    """Settle each departure's folio exactly and check the guest out (the room is left dirty)."""
    departures = desk.get("/reservations", departure=day.isoformat(), status="checked_in")
    return [
        Step(
            f"check-out {r['number']}",
            _check_out(desk, report, r["id"], rng.choice(("cash", "card"))),
        )
        for r in departures
    ]


def _check_out(
    desk: Desk, report: DayReport, reservation_id: str, method: str
) -> Callable[[], None]:
    def run() -> None:
        folio = desk.get(f"/reservations/{reservation_id}")["folio"]
        due = folio["settlement_due"]
        if due:
            desk.post(f"/folios/{folio['id']}/payments", {"method": method, "amount": due})
            report.payments[method] += 1
            report.paid_yen += due
        desk.post(f"/reservations/{reservation_id}/check-out", {})
        report.checked_out += 1

    return run


def clean_rooms(desk: Desk, report: DayReport) -> list[Step]:
    """Housekeeping: clean and inspect every vacant dirty room."""
    return [
        Step(f"clean and inspect {room['number']}", _clean(desk, report, room["id"]))
        for room in desk.rooms()
        if room["status"] == "VD"
    ]


def _clean(desk: Desk, report: DayReport, room_id: str) -> Callable[[], None]:
    def run() -> None:
        desk.post(f"/rooms/{room_id}/condition", {"condition": "clean"})
        desk.post(f"/rooms/{room_id}/condition", {"condition": "inspected"})
        report.rooms_cleaned += 1

    return run


def free_room(
    desk: Desk, room_type_id: str | None, first: date, last: date, avoid: set[str]
) -> dict[str, Any] | None:
    """A vacant clean room (of the type, if given) that no stay holds from ``first`` to ``last``."""
    held = desk.held_rooms(first, last) | avoid
    return next(
        (
            r
            for r in desk.rooms()
            if room_type_id in (None, r["room_type_id"])
            and r["status"] in ("VC", "VI")
            and r["id"] not in held
        ),
        None,
    )


def move_a_guest(desk: Desk, report: DayReport, day: date, *, avoid: set[str]) -> list[Step]:
    """A guest staying on asks for another room: move the stay to a free room of its type."""
    staying = [
        r
        for r in desk.get("/reservations", in_house_on=day.isoformat(), status="checked_in")
        if date.fromisoformat(r["departure"]) > day + timedelta(days=1)
    ]
    for reservation in staying:
        last = date.fromisoformat(reservation["departure"]) - timedelta(days=1)
        room = free_room(desk, reservation["room_type_id"], day, last, avoid)
        if room is not None:
            return [
                Step(
                    f"room move {reservation['number']} → {room['number']}",
                    _move(desk, report, reservation["id"], room["id"]),
                )
            ]
    return []


def _move(desk: Desk, report: DayReport, reservation_id: str, room_id: str) -> Callable[[], None]:
    def run() -> None:
        body = {"to_room_id": room_id, "reason": "the guest asked for a quieter room"}
        desk.post(f"/reservations/{reservation_id}/move", body)
        report.moves += 1

    return run


def walk_in(
    desk: Desk, report: DayReport, rng: random.Random, day: date, *, room: dict[str, Any]
) -> list[Step]:
    """A guest with no booking takes ``room`` for one night: book it, then check in."""
    name = rng.choice(WALK_INS)

    def book_and_check_in() -> None:
        reservation = desk.post(
            "/reservations",
            {
                "guest_name": name,
                "arrival": day.isoformat(),
                "departure": (day + timedelta(days=1)).isoformat(),
                "adults": 1,
                "room_type_id": room["room_type_id"],
                "rate_plan_id": demo_id("rate_plan:BAR"),
            },
        )
        guests = [to_json(dataclasses.asdict(g)) for g in guests_for(name, 1, rng)]
        desk.post(
            f"/reservations/{reservation['id']}/check-in",
            {"room_id": room["id"], "guests": guests},
        )
        report.walk_ins += 1

    return [Step(f"walk-in {name} → {room['number']}", book_and_check_in)]


def close_day(desk: Desk, report: DayReport, day: date) -> list[Step]:
    """The night audit: charge tonight's stays and move the business date on."""

    def close() -> None:
        desk.post("/close-day", {"business_date": day.isoformat()})
        report.days_closed += 1
        report.business_date = (day + timedelta(days=1)).isoformat()

    return [Step(f"night audit: close {day}", close)]


def show_a_refusal(desk: Desk, report: DayReport, day: date) -> None:
    """Show that a bad request gets a clear problem+json answer and writes nothing."""
    in_house = desk.get("/reservations", in_house_on=day.isoformat(), status="checked_in")
    for reservation in in_house:
        if not desk.get(f"/reservations/{reservation['id']}")["folio"]["settlement_due"]:
            continue
        url = f"{desk.base}/reservations/{reservation['id']}/check-out"
        response = desk.client.post(url, json={})
        if response.status_code < 400:
            raise DemoFailed("check-out with an open balance was accepted")
        problem = response.json()
        report.errors_shown.append(f"{problem['code']}: {problem['detail']}")
        return
