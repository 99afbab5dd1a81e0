"""A scripted front-desk day, driven through the HTTP API like the desk's own screens would.

Arrivals are checked in (with the guest registry), charges posted to in-house folios,
departures settled and checked out, and their rooms cleaned and inspected.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2

from yadori.cli.demo_hotel import guests_for
from yadori.sync.canonical import to_json

CHARGES = (
    ("minibar", "ミネラルウォーター Mineral water", 300, "reduced"),
    ("minibar", "ビール Beer", 600, "standard"),
    ("room_service", "ルームサービス 朝食 Breakfast", 2_800, "standard"),
    ("misc", "クリーニング Laundry", 1_500, "standard"),
)


class DemoFailed(RuntimeError):
    """The API refused a step the demo expected to work."""


@dataclass
class DayReport:
    """What the day did, counted."""

    business_date: str = ""
    checked_in: int = 0
    charges: int = 0
    charged_yen: int = 0
    checked_out: int = 0
    paid_yen: int = 0
    payments: Counter[str] = field(default_factory=Counter)
    rooms_cleaned: int = 0
    errors_shown: list[str] = field(default_factory=list)


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

    @staticmethod
    def _check(response: httpx2.Response) -> Any:
        if response.status_code >= 400:
            raise DemoFailed(f"{response.request.method} {response.request.url}: {response.text}")
        return response.json()


def run_day(client: httpx2.Client, code: str, *, seed_value: int = 11) -> DayReport:
    """Run the day at the edge and return what was done."""
    rng = random.Random(seed_value)  # noqa: S311 - demo data
    desk = Desk(client, code)
    report = DayReport(business_date=desk.get("")["business_date"])
    check_in_arrivals(desk, report, rng)
    post_charges(desk, report, rng)
    check_out_departures(desk, report, rng)
    show_a_refusal(desk, report)
    return report


def check_in_arrivals(desk: Desk, report: DayReport, rng: random.Random) -> None:
    """Give each of today's arrivals a clean room of the booked type and register the guests."""
    arrivals = desk.get("/reservations", arrival=report.business_date, status="booked")
    free = [r for r in desk.get("/rooms") if r["status"] in ("VC", "VI")]
    for reservation in arrivals:
        room = next((r for r in free if r["room_type_id"] == reservation["room_type_id"]), None)
        if room is None:
            continue
        free.remove(room)
        guests = guests_for(reservation["guest_name"], reservation["adults"], rng)
        body = {"room_id": room["id"], "guests": [to_json(dataclasses.asdict(g)) for g in guests]}
        desk.post(f"/reservations/{reservation['id']}/check-in", body)
        report.checked_in += 1


def post_charges(desk: Desk, report: DayReport, rng: random.Random) -> None:
    """Post minibar, room-service and laundry charges to some in-house folios."""
    in_house = desk.get("/reservations", in_house_on=report.business_date, status="checked_in")
    for reservation in in_house:
        if rng.random() < 0.5:
            continue
        folio_id = desk.get(f"/reservations/{reservation['id']}")["folio"]["id"]
        category, description, amount, tax_class = rng.choice(CHARGES)
        body = {
            "category": category,
            "description": description,
            "amount": amount,
            "tax_class": tax_class,
        }
        desk.post(f"/folios/{folio_id}/charges", body)
        report.charges += 1
        report.charged_yen += amount


def check_out_departures(desk: Desk, report: DayReport, rng: random.Random) -> None:
    """Settle each departure's folio exactly, check out, then clean and inspect the room."""
    departures = desk.get("/reservations", departure=report.business_date, status="checked_in")
    for reservation in departures:
        folio = desk.get(f"/reservations/{reservation['id']}")["folio"]
        due = folio["settlement_due"]
        method = rng.choice(("cash", "card"))
        if due:
            desk.post(f"/folios/{folio['id']}/payments", {"method": method, "amount": due})
            report.payments[method] += 1
            report.paid_yen += due
        desk.post(f"/reservations/{reservation['id']}/check-out", {})
        report.checked_out += 1
        room_id = reservation["room_id"]
        desk.post(f"/rooms/{room_id}/condition", {"condition": "clean"})
        desk.post(f"/rooms/{room_id}/condition", {"condition": "inspected"})
        report.rooms_cleaned += 1


def show_a_refusal(desk: Desk, report: DayReport) -> None:
    """Show that a bad request gets a clear problem+json answer and writes nothing."""
    in_house = desk.get("/reservations", in_house_on=report.business_date, status="checked_in")
    if not in_house:
        return
    reservation = in_house[0]
    response = desk.client.post(f"{desk.base}/reservations/{reservation['id']}/check-out", json={})
    if response.status_code < 400:
        raise DemoFailed("check-out with an open balance was accepted")
    problem = response.json()
    report.errors_shown.append(f"{problem['code']}: {problem['detail']}")
