"""Reservations: validation, the lifecycle, nights charged, and rooms held per night."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest

from yadori.domain.errors import InvalidInput, InvalidReservationTransition, RoomNotAvailable
from yadori.domain.reservations import (
    ACTIVE,
    TRANSITIONS,
    NightPrice,
    Reservation,
    ReservationStatus,
    charged_until,
    ensure_room_free,
    ensure_type_available,
    nights_from,
    stay_nights,
)

S = ReservationStatus
DEC1 = date(2026, 12, 1)
ALLOWED = {
    (S.BOOKED, S.CHECKED_IN),
    (S.BOOKED, S.CANCELLED),
    (S.BOOKED, S.NO_SHOW),
    (S.CHECKED_IN, S.CHECKED_OUT),
}
ALL_PAIRS = list(itertools.product(S, S))


def days(n: int) -> date:
    """The date ``n`` days after 1 December 2026."""
    return DEC1 + timedelta(days=n)


def booking(
    length: int = 3,
    status: ReservationStatus = S.BOOKED,
    arrival: date = DEC1,
    **changes: object,
) -> Reservation:
    """A valid reservation of ``length`` nights from ``arrival`` at 12,000 yen a night."""
    departure = arrival + timedelta(days=length)
    prices = tuple(NightPrice(n, 12_000, True) for n in stay_nights(arrival, departure))
    fields: dict[str, object] = {
        "id": "res-1",
        "number": "TKY1-000001",
        "guest_name": "Sato Taro",
        "arrival": arrival,
        "departure": departure,
        "adults": 2,
        "room_type_id": "rt-std",
        "rate_plan_id": "rp-ro",
        "nights": prices,
        "status": status,
    }
    fields.update(changes)
    return Reservation(**fields)  # type: ignore[arg-type]


def test_a_valid_booking_lists_its_nights() -> None:
    """Night dates run from arrival up to, not including, departure."""
    res = booking(3)
    assert res.night_dates == [days(0), days(1), days(2)]
    assert (res.status, res.room_id, res.version) == (S.BOOKED, None, 1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"guest_name": ""}, "guest_name"),
        ({"guest_name": "   "}, "guest_name"),
        ({"departure": DEC1}, "departure"),
        ({"departure": days(-1)}, "departure"),
        ({"adults": 0}, "adults"),
        ({"nights": ()}, "nights"),
        ({"nights": (NightPrice(days(0), 1, True),)}, "nights"),
        ({"nights": tuple(NightPrice(days(n), 1, True) for n in (0, 2, 1))}, "nights"),
        ({"nights": tuple(NightPrice(days(n), 1, True) for n in range(4))}, "nights"),
    ],
)
def test_invalid_booking_names_its_field(changes: dict[str, object], field: str) -> None:
    """Each validation error says which field is wrong."""
    with pytest.raises(InvalidInput) as caught:
        booking(3, **changes)
    assert caught.value.facts == {"field": field}


def test_transition_table_covers_every_status() -> None:
    """Every status has an entry, and the final ones allow nothing."""
    assert set(TRANSITIONS) == set(S)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert {S.BOOKED, S.CHECKED_IN} == ACTIVE


@pytest.mark.parametrize(("start", "to"), [p for p in ALL_PAIRS if p in ALLOWED])
def test_allowed_lifecycle_step(start: ReservationStatus, to: ReservationStatus) -> None:
    """An allowed step changes the status and bumps the version, nothing else."""
    before = booking(status=start)
    after = before.advance(to)
    assert after.status is to
    assert after.version == before.version + 1
    assert replace(after, status=start, version=before.version) == before


@pytest.mark.parametrize(("start", "to"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_refused_lifecycle_step(start: ReservationStatus, to: ReservationStatus) -> None:
    """A step the lifecycle does not allow is refused, naming the current status."""
    with pytest.raises(InvalidReservationTransition, match=f"cannot become {to.value}") as caught:
        booking(status=start).advance(to)
    assert caught.value.facts == {"reservation": "TKY1-000001", "status": start.value}


@pytest.mark.parametrize("status", sorted(ACTIVE, key=lambda s: s.value))
def test_active_reservation_can_be_assigned_a_room(status: ReservationStatus) -> None:
    """A booked or in-house stay can be put in a room; the version grows."""
    assigned = booking(status=status).assign("room-101")
    assert (assigned.room_id, assigned.version, assigned.status) == ("room-101", 2, status)


@pytest.mark.parametrize("status", sorted(set(S) - ACTIVE, key=lambda s: s.value))
def test_finished_reservation_cannot_be_assigned(status: ReservationStatus) -> None:
    """Cancelled, no-show and checked-out stays hold no room."""
    with pytest.raises(InvalidReservationTransition, match="no room can be assigned"):
        booking(status=status).assign("room-101")


def test_stay_nights_of_an_empty_or_reversed_range_is_empty() -> None:
    """No nights between a date and itself or an earlier one."""
    assert stay_nights(DEC1, DEC1) == []
    assert stay_nights(DEC1, days(-2)) == []


def test_stay_nights_crosses_the_year_end() -> None:
    """A new-year stay lists 31 December then 1 January."""
    assert stay_nights(date(2026, 12, 31), date(2027, 1, 2)) == [
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]


@pytest.mark.parametrize(
    ("business_date", "expected", "case"),
    [
        (days(0), days(1), "leaves on arrival day: a day use pays one night"),
        (days(-1), days(1), "before arrival: still one night at least"),
        (days(1), days(1), "early after one night"),
        (days(2), days(2), "early after two nights"),
        (days(3), days(3), "on time"),
        (days(5), days(3), "late: never past the booked departure"),
    ],
)
def test_charged_until(business_date: date, expected: date, case: str) -> None:
    """The first uncharged night for a 3-night stay, leaving on the business date."""
    assert charged_until(booking(3), business_date) == expected, case


def test_charged_until_one_night_stay_on_time() -> None:
    """A one-night stay leaving on its departure pays its one night."""
    assert charged_until(booking(1), days(1)) == days(1)


def test_nights_from_keeps_the_nights_on_or_after() -> None:
    """A room move takes the nights from the move date on."""
    res = booking(4)
    assert nights_from(res, days(2)) == [days(2), days(3)]
    assert nights_from(res, days(0)) == res.night_dates
    assert nights_from(res, days(4)) == []


def test_room_free_when_nights_do_not_overlap() -> None:
    """Back-to-back stays share no night: departure day is the next arrival."""
    ensure_room_free("101", [days(2), days(3)], [days(0), days(1)])
    ensure_room_free("101", [], [days(0)])


def test_room_taken_lists_every_clashing_night_in_order() -> None:
    """The refusal names the room and each clashing night, sorted, once."""
    wanted = [days(3), days(1), days(2), days(1)]
    with pytest.raises(RoomNotAvailable) as caught:
        ensure_room_free("101", wanted, iter([days(2), days(1), days(9)]))
    assert str(caught.value) == "room 101 is taken on 2026-12-02, 2026-12-03"
    assert caught.value.facts == {"room": "101", "nights": ["2026-12-02", "2026-12-03"]}


def test_type_available_when_every_night_has_a_room() -> None:
    """A type with at least one free room each night can be booked."""
    ensure_type_available("STD", {days(0): 1, days(1): 5})
    ensure_type_available("STD", {})


def test_type_full_lists_the_full_nights_in_order() -> None:
    """Nights with zero or negative free rooms (overbooked) are named, sorted."""
    free = {days(2): -1, days(0): 3, days(1): 0}
    with pytest.raises(RoomNotAvailable) as caught:
        ensure_type_available("STD", free)
    assert str(caught.value) == "no STD room left on 2026-12-02, 2026-12-03"
    assert caught.value.facts == {"room_type": "STD", "nights": ["2026-12-02", "2026-12-03"]}
