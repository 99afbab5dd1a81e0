"""Read models on both backends: the folio's settlement, fee quotes, availability ranges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

import pytest

from support.hotel import TODAY, Hotel, build_hotel, guest
from yadori.domain.errors import (
    FolioNotBalanced,
    InvalidInput,
    UnknownRatePlan,
    UnknownRoomType,
)
from yadori.domain.fees import FeeKind
from yadori.domain.folio import FolioStatus
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.domain.taxes import TaxClass
from yadori.services import commands as c
from yadori.services import queries
from yadori.services.ports import UnitOfWork

T = TypeVar("T")
OVERRIDE = TODAY + timedelta(days=4)  # STD costs ¥16,500 that night (tests/support/hotel.py)


def read(hotel: Hotel, query: Callable[[UnitOfWork], T]) -> T:
    """Run a read-only query at the hotel."""
    return hotel.node.bus.read(hotel.property_id, query)


def close_days(hotel: Hotel, count: int) -> date:
    """Run the night audit ``count`` times; the new business date."""
    for _ in range(count):
        today = read(hotel, lambda uow: uow.properties.get().business_date)
        hotel.run(c.CloseBusinessDay(business_date=today))
    return read(hotel, lambda uow: uow.properties.get().business_date)


def pay(hotel: Hotel, folio_id: str, amount: int) -> None:
    """Record a cash payment."""
    hotel.run(c.PostPayment(folio_id=folio_id, line_id=new_id(), method="cash", amount=amount))


def check_out(hotel: Hotel, reservation: Reservation) -> None:
    """Check the guest out without an override."""
    hotel.run(c.CheckOut(reservation_id=reservation.id))


# --- the folio view --------------------------------------------------------------------------


def test_settlement_due_is_exactly_what_check_out_requires(hotel: Hotel) -> None:
    """A late arrival across the override night: paying settlement_due to the yen checks out."""
    served = build_hotel(hotel.node, service_charge="0.1")  # a second property on the node
    stay = served.book(arrival=OVERRIDE - timedelta(1), nights=3)  # 12-04, 12-05, 12-06
    assert close_days(served, 5) == OVERRIDE + timedelta(1)
    served.check_in(stay, "101")  # a day late: 12-04 and 12-05 are not posted yet
    folio_id = served.folio_id(stay)
    served.run(
        c.PostCharge(
            folio_id=folio_id,
            line_id=new_id(),
            category="minibar",
            description="お茶 Tea",
            amount=333,
            tax_class=TaxClass.REDUCED,
            tax_included=False,
        )
    )
    served.run(
        c.PostCharge(
            folio_id=folio_id,
            line_id=new_id(),
            category="room_service",
            description="朝食 Breakfast",
            amount=1_234,
        )
    )
    pay(served, folio_id, 1_000)
    view = read(served, lambda uow: queries.folio(uow, folio_id))
    # nights: 11,000 + 16,500 with 10 % service charge (1,100 + 1,650), Tokyo tax 100 + 200
    assert view.unposted_room_charges == 27_500 + 2_750 + 300
    assert view.balance == 333 + 26 + 1_234 - 1_000  # reduced 8 % tax added, floored
    assert view.settlement_due == 30_550 + 359 + 1_234 - 1_000
    pay(served, folio_id, view.settlement_due - 1)
    with pytest.raises(FolioNotBalanced) as short:
        check_out(served, stay)
    assert short.value.facts["balance"] == 1
    pay(served, folio_id, 1)
    check_out(served, stay)
    folio = read(served, lambda uow: uow.folios.get(folio_id))
    assert (folio.status, folio.balance()) == (FolioStatus.SETTLED, 0)
    after = read(served, lambda uow: queries.folio(uow, folio_id))
    assert (after.unposted_room_charges, after.settlement_due, after.balance) == (0, 0, 0)


def test_settlement_due_of_a_guest_leaving_on_arrival_day_is_one_night(hotel: Hotel) -> None:
    """Before any audit, leaving today costs one night; after it, the posted nights only."""
    stay = hotel.book(nights=3)
    hotel.check_in(stay, "102")
    folio_id = hotel.folio_id(stay)
    first = read(hotel, lambda uow: queries.folio(uow, folio_id))
    assert (first.balance, first.unposted_room_charges, first.settlement_due) == (0, 11_100, 11_100)
    close_days(hotel, 1)
    second = read(hotel, lambda uow: queries.folio(uow, folio_id))
    assert (second.balance, second.unposted_room_charges, second.settlement_due) == (
        11_100,
        0,
        11_100,
    )
    view = read(hotel, lambda uow: queries.stay(uow, stay.id))
    assert view.folio.settlement_due == 11_100
    assert view.registry == [guest(0)]
    assert view.reservation.status is ReservationStatus.CHECKED_IN


# --- the fee quote ---------------------------------------------------------------------------


def test_quote_across_the_override_night_uses_each_nights_price(hotel: Hotel) -> None:
    """Three nights around the override: ¥11,000, ¥16,500, ¥11,000, each with its own tax."""
    quote = read(
        hotel,
        lambda uow: queries.quote(
            uow,
            room_type_id=hotel.std,
            rate_plan_id=hotel.plan,
            arrival=OVERRIDE - timedelta(1),
            departure=OVERRIDE + timedelta(2),
            adults=1,
        ),
    )
    by_night = [(line.night, line.kind, line.amount) for line in quote.lines]
    assert by_night == [
        (OVERRIDE - timedelta(1), FeeKind.ROOM, 11_000),
        (OVERRIDE - timedelta(1), FeeKind.ACCOMMODATION_TAX, 100),
        (OVERRIDE, FeeKind.ROOM, 16_500),
        (OVERRIDE, FeeKind.ACCOMMODATION_TAX, 200),  # base ¥15,000: the upper Tokyo tier
        (OVERRIDE + timedelta(1), FeeKind.ROOM, 11_000),
        (OVERRIDE + timedelta(1), FeeKind.ACCOMMODATION_TAX, 100),
    ]
    assert quote.total == 38_500 + 400
    assert quote.invoice.tax_total == 3_500  # consumption tax inside the room prices


def test_quote_matches_what_the_booking_fixes_and_splits_tax_by_guests(hotel: Hotel) -> None:
    """The quoted room prices are the booking's; two guests fall below Tokyo's tax threshold."""
    arrival, departure = OVERRIDE - timedelta(1), OVERRIDE + timedelta(1)
    quote = read(
        hotel,
        lambda uow: queries.quote(
            uow,
            room_type_id=hotel.std,
            rate_plan_id=hotel.plan,
            arrival=arrival,
            departure=departure,
            adults=2,
        ),
    )
    booked = hotel.book(arrival=arrival, nights=2, adults=2)
    assert [line.amount for line in quote.lines if line.kind is FeeKind.ROOM] == [
        n.amount for n in booked.nights
    ]
    assert quote.total_of(FeeKind.ACCOMMODATION_TAX) == 0
    assert quote.total == 27_500


def test_quote_refuses_unknown_plans_types_and_bad_ranges(hotel: Hotel) -> None:
    """Unknown ids raise their NotFound; an empty, reversed or too long range is InvalidInput."""

    def quote(**changes: object) -> object:
        fields: dict[str, object] = {
            "room_type_id": hotel.std,
            "rate_plan_id": hotel.plan,
            "arrival": TODAY,
            "departure": TODAY + timedelta(1),
            "adults": 1,
        }
        return read(hotel, lambda uow: queries.quote(uow, **{**fields, **changes}))  # type: ignore[arg-type]

    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({"rate_plan_id": new_id()}, UnknownRatePlan),
        ({"room_type_id": new_id()}, UnknownRoomType),
        ({"departure": TODAY}, InvalidInput),
        ({"departure": TODAY - timedelta(1)}, InvalidInput),
        ({"departure": TODAY + timedelta(367)}, InvalidInput),
        ({"adults": 0}, InvalidInput),
    ]
    for changes, error in cases:
        with pytest.raises(error):
            quote(**changes)


# --- availability ----------------------------------------------------------------------------


def test_availability_covers_each_night_of_the_range_per_type(hotel: Hotel) -> None:
    """Every night from start up to end, for every type code, net of active bookings."""
    hotel.book(nights=2)
    hotel.book(arrival=TODAY + timedelta(1), nights=1, room_type=hotel.twn)
    free = read(hotel, lambda uow: queries.availability(uow, TODAY, TODAY + timedelta(3)))
    nights = [TODAY + timedelta(i) for i in range(3)]
    assert free == {
        "STD": dict(zip(nights, [3, 3, 4], strict=True)),
        "TWN": dict(zip(nights, [2, 1, 2], strict=True)),
    }


def test_availability_accepts_a_year_and_refuses_invalid_ranges(hotel: Hotel) -> None:
    """366 nights are answered; an empty, reversed or longer range raises InvalidInput."""
    year = read(hotel, lambda uow: queries.availability(uow, TODAY, TODAY + timedelta(366)))
    assert len(year["STD"]) == 366
    assert set(year["TWN"].values()) == {2}
    for end in (TODAY, TODAY - timedelta(1), TODAY + timedelta(367)):
        with pytest.raises(InvalidInput) as raised:
            read(hotel, lambda uow, end=end: queries.availability(uow, TODAY, end))
        assert raised.value.facts["field"] == "to"


def test_reservation_and_room_lists_follow_the_desk(hotel: Hotel) -> None:
    """The arrivals list and the room list show what the desk just did."""
    arriving = hotel.book(name="Arriving Guest")
    tomorrow = hotel.book(arrival=TODAY + timedelta(1), name="Tomorrow Guest")
    hotel.check_in(arriving, "201")
    arrivals = read(hotel, lambda uow: queries.reservations(uow, arrival=TODAY))
    in_house = read(
        hotel,
        lambda uow: queries.reservations(
            uow, in_house_on=TODAY, statuses=[ReservationStatus.CHECKED_IN]
        ),
    )
    booked = read(hotel, lambda uow: queries.reservations(uow, statuses=[ReservationStatus.BOOKED]))
    assert [r.id for r in arrivals] == [arriving.id]
    assert [r.id for r in in_house] == [arriving.id]
    assert [r.id for r in booked] == [tomorrow.id]
    codes = {room.number: room.status_code for room in read(hotel, queries.rooms)}
    assert codes == {"101": "VC", "102": "VC", "103": "VC", "104": "VC", "201": "OC", "202": "VC"}
