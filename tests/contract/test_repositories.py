"""The repository contract: every method of every repository port, on SQLite and PostgreSQL.

Each test runs once per backend (the ``hotel`` fixture is parametrised over both), through the
real SQL unit of work, so the edge and central store and return exactly the same values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from support.hotel import TODAY, Hotel, build_hotel, guest
from yadori.domain.accommodation_tax import Exemption
from yadori.domain.conflicts import Register, RegisterStamp
from yadori.domain.errors import (
    AlreadyExists,
    NotFound,
    UnknownFolio,
    UnknownRatePlan,
    UnknownReservation,
    UnknownRoom,
    UnknownRoomType,
)
from yadori.domain.folio import Folio, FolioLine, FolioStatus, LineKind, ManagerOverride
from yadori.domain.ids import new_id
from yadori.domain.money import Rounding
from yadori.domain.property import Property
from yadori.domain.rates import RatePlan
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import NightPrice, Reservation, ReservationStatus, stay_nights
from yadori.domain.rooms import Condition, Occupancy, Room, RoomType, Service
from yadori.domain.taxes import TaxClass
from yadori.storage.tables import folio_lines, registry_entries
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from yadori.sync.mutation import Actor, Mutation, Priority, make_mutation

NOW = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
JST = timezone(timedelta(hours=9))
BIG_YEN = 5_000_000_000  # above 2**31: money columns must not be 32-bit
D1, D2, D3, D4 = (TODAY + timedelta(days=i) for i in range(4))


@contextmanager
def unit(hotel: Hotel, property_id: str | None = None) -> Iterator[SqlUnitOfWork]:
    """A unit of work on the hotel's database that commits when the block succeeds."""
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)
    with factory(property_id or hotel.property_id) as uow:
        yield uow
        uow.commit()


def reservation(
    hotel: Hotel,
    *,
    arrival: date = D1,
    nights: int = 2,
    status: ReservationStatus = ReservationStatus.BOOKED,
    number: str | None = None,
    room_type: str | None = None,
) -> Reservation:
    """A reservation value (not yet stored) of the hotel's standard type at ¥11,000 a night."""
    departure = arrival + timedelta(days=nights)
    return Reservation(
        id=new_id(),
        number=number or f"X-{new_id()[-8:]}",
        guest_name="山田 花子",
        arrival=arrival,
        departure=departure,
        adults=2,
        room_type_id=room_type or hotel.std,
        rate_plan_id=hotel.plan,
        nights=tuple(NightPrice(n, 11_000, True) for n in stay_nights(arrival, departure)),
        status=status,
    )


def stored(hotel: Hotel, **kwargs: object) -> Reservation:
    """A reservation stored with its folio."""
    booking = reservation(hotel, **kwargs)  # type: ignore[arg-type]
    with unit(hotel) as uow:
        uow.reservations.add(booking)
        uow.folios.add(Folio(new_id(), booking.id))
    return booking


def line(amount: int = 1_000, **changes: object) -> FolioLine:
    """A folio charge line with every field set to a non-default value unless changed."""
    fields: dict[str, object] = {
        "id": new_id(),
        "kind": LineKind.CHARGE,
        "category": "minibar",
        "description": "ビール Beer",
        "amount": amount,
        "business_date": TODAY,
        "tax_class": TaxClass.REDUCED,
        "tax_included": False,
        "voids": None,
        "night": D2,
    }
    fields.update(changes)
    return FolioLine(**fields)  # type: ignore[arg-type]


def mutation(seq: int, name: str = "test") -> Mutation:
    """A sealed mutation with the given sequence number."""
    return make_mutation(
        id=new_id(),
        origin="node-x",
        seq=seq,
        hlc=f"{seq:015d}-000000-node-x",
        name=name,
        args={"n": seq, "text": "宿"},
        deps=(),
        priority=Priority.PAYMENT,
        actor=Actor("staff-9", "token-9"),
    )


# --- properties ------------------------------------------------------------------------------


def test_property_round_trips_every_type(hotel: Hotel) -> None:
    """A property comes back equal, with a Decimal rate, a date and enum roundings."""
    prop = Property(
        id=new_id(),
        code="RT1",
        name_ja="往復ホテル",
        name_en="Round Trip",
        business_date=date(2027, 2, 28),
        municipality="osaka",
        timezone="Asia/Tokyo",
        service_charge_rate=Decimal("0.125"),
        service_charge_rounding=Rounding.HALF_EVEN,
        tax_rounding=Rounding.CEILING,
    )
    with unit(hotel, prop.id) as uow:
        uow.properties.add(prop)
    with unit(hotel, prop.id) as uow:
        back = uow.properties.get()
    assert back == prop
    assert type(back.business_date) is date
    assert type(back.service_charge_rate) is Decimal
    assert str(back.service_charge_rate) == "0.125"
    assert back.tax_rounding is Rounding.CEILING


def test_property_save_stores_the_changed_business_date(hotel: Hotel) -> None:
    """Saving an advanced property moves its business date and keeps the rest."""
    with unit(hotel) as uow:
        before = uow.properties.get()
        uow.properties.save(before.advance_business_date())
    with unit(hotel) as uow:
        after = uow.properties.get()
    assert after.business_date == TODAY + timedelta(days=1)
    assert after.code == before.code
    assert after.service_charge_rate == before.service_charge_rate


# --- room types and rooms --------------------------------------------------------------------


def test_room_types_add_get_and_list_by_code(hotel: Hotel) -> None:
    """Room types come back by id with every field, and listed in code order."""
    added = RoomType(new_id(), "AAA", "和室", "Japanese", 4)
    with unit(hotel) as uow:
        uow.room_types.add(added)
    with unit(hotel) as uow:
        listed = uow.room_types.list()
        std = uow.room_types.get(hotel.std)
        assert uow.room_types.get(added.id) == added
    assert [t.code for t in listed] == ["AAA", "STD", "TWN"]
    assert std == RoomType(hotel.std, "STD", "標準", "Standard", 2)


def test_room_type_code_is_unique_per_property(hotel: Hotel) -> None:
    """A second room type with a code already used raises AlreadyExists."""
    with pytest.raises(AlreadyExists), unit(hotel) as uow:
        uow.room_types.add(RoomType(new_id(), "STD", "重複", "Duplicate", 2))


def test_unknown_ids_raise_the_not_found_error_of_their_kind(hotel: Hotel) -> None:
    """Every get of an unknown id raises its own NotFound subclass, locked or not."""
    missing = new_id()
    with unit(hotel, missing) as uow, pytest.raises(NotFound):
        uow.properties.get()
    with unit(hotel) as uow:
        for error, call in [
            (UnknownRoomType, lambda: uow.room_types.get(missing)),
            (UnknownRoom, lambda: uow.rooms.get(missing)),
            (UnknownRoom, lambda: uow.rooms.get(missing, for_update=True)),
            (UnknownRatePlan, lambda: uow.rate_plans.get(missing)),
            (UnknownReservation, lambda: uow.reservations.get(missing)),
            (UnknownReservation, lambda: uow.reservations.get(missing, for_update=True)),
            (UnknownFolio, lambda: uow.folios.get(missing)),
            (UnknownFolio, lambda: uow.folios.get(missing, for_update=True)),
            (UnknownFolio, lambda: uow.folios.for_reservation(missing)),
        ]:
            with pytest.raises(error) as raised:
                call()
            assert type(raised.value) is error


def test_repositories_see_only_their_own_property(hotel: Hotel) -> None:
    """Another property's room types, rooms, plans, stays and folios are not found."""
    other = build_hotel(hotel.node)
    booking = stored(other)
    with unit(hotel) as uow:
        with pytest.raises(UnknownRoomType):
            uow.room_types.get(other.std)
        with pytest.raises(UnknownRoom):
            uow.rooms.get(other.rooms["101"])
        with pytest.raises(UnknownRatePlan):
            uow.rate_plans.get(other.plan)
        with pytest.raises(UnknownReservation):
            uow.reservations.get(booking.id)
        with pytest.raises(UnknownFolio):
            uow.folios.for_reservation(booking.id)
        assert len(uow.rooms.list()) == 6
        assert uow.reservations.find() == []


def test_rooms_add_get_and_list_by_number(hotel: Hotel) -> None:
    """Rooms come back by id (locked or not) with every field, and listed by number."""
    added = Room(new_id(), "100", hotel.twn, 1, condition=Condition.INSPECTED)
    with unit(hotel) as uow:
        uow.rooms.add(added)
    with unit(hotel) as uow:
        listed = uow.rooms.list()
        room = uow.rooms.get(hotel.rooms["201"])
        assert uow.rooms.get(hotel.rooms["201"], for_update=True) == room
        assert uow.rooms.get(added.id) == added
    assert [r.number for r in listed] == ["100", "101", "102", "103", "104", "201", "202"]
    assert room == Room(hotel.rooms["201"], "201", hotel.twn, 2)
    assert room.status_code == "VC"


def test_room_save_round_trips_status_enums_and_version(hotel: Hotel) -> None:
    """A saved room keeps its three status axes, its reason, its version and each register's
    version and last writer (decision 0067)."""
    desk = RegisterStamp(20, "000000000000100-000000-e1", "e1")
    office = RegisterStamp(30, "000000000000200-000000-central", "central")
    with unit(hotel) as uow:
        room = uow.rooms.get(hotel.rooms["102"], for_update=True)
        changed = (
            room.check_in()
            .check_out()
            .stamped(desk)
            .set_service(Service.OUT_OF_ORDER, " 水漏れ leak ")
            .stamped(office)
        )
        uow.rooms.save(changed)
    with unit(hotel) as uow:
        back = uow.rooms.get(hotel.rooms["102"])
    assert back == changed
    assert back.occupancy is Occupancy.VACANT
    assert back.condition is Condition.DIRTY
    assert back.service is Service.OUT_OF_ORDER
    assert back.service_reason == "水漏れ leak"
    assert back.version == 4
    assert back.stamp == office
    assert back.condition_register == Register(2, desk)
    assert back.service_register == Register(2, office)


def test_a_room_whose_register_was_not_stamped_is_not_saved(hotel: Hotel) -> None:
    """A register written without a stamp could never be merged: the repository refuses it."""
    with unit(hotel) as uow:
        room = uow.rooms.get(hotel.rooms["102"], for_update=True)
        with pytest.raises(ValueError, match="without a stamp"):
            uow.rooms.save(room.set_condition(Condition.DIRTY))


# --- rate plans ------------------------------------------------------------------------------


def test_rate_plan_round_trips_prices_overrides_and_booleans(hotel: Hotel) -> None:
    """A plan keeps tax exclusion, base prices and date overrides, big amounts included."""
    plan = RatePlan(
        id=new_id(),
        code="AAA-NET",
        name_ja="素泊まり",
        name_en="Room only",
        tax_included=False,
        base_prices={hotel.std: 9_000, hotel.twn: 2_000_000_000},
        overrides={(hotel.std, D3): 15_000, (hotel.twn, D4): 0},
    )
    with unit(hotel) as uow:
        uow.rate_plans.add(plan)
    with unit(hotel) as uow:
        back = uow.rate_plans.get(plan.id)
        codes = [p.code for p in uow.rate_plans.list()]
    assert back == plan
    assert back.tax_included is False
    assert all(type(night) is date for _, night in back.overrides)
    assert back.price(hotel.std, D3) == 15_000
    assert back.price(hotel.twn, D4) == 0
    assert codes == ["AAA-NET", "BAR"]


# --- reservations ----------------------------------------------------------------------------


def test_reservation_round_trips_with_its_nightly_prices(hotel: Hotel) -> None:
    """A reservation comes back equal: dates, status enum, no room, price lines in order."""
    booking = stored(hotel, nights=3)
    with unit(hotel) as uow:
        back = uow.reservations.get(booking.id)
        locked = uow.reservations.get(booking.id, for_update=True)
    assert back == booking == locked
    assert [type(n.night) for n in back.nights] == [date, date, date]
    assert back.nights[0] == NightPrice(D1, 11_000, True)
    assert back.status is ReservationStatus.BOOKED
    assert back.room_id is None


def test_reservation_save_stores_status_room_and_version(hotel: Hotel) -> None:
    """Saving stores the new status, the room and the version."""
    booking = stored(hotel)
    changed = booking.assign(hotel.rooms["103"]).advance(ReservationStatus.CHECKED_IN)
    with unit(hotel) as uow:
        uow.reservations.save(changed)
    with unit(hotel) as uow:
        back = uow.reservations.get(booking.id)
    assert back == changed
    assert (back.status, back.room_id, back.version) == (
        ReservationStatus.CHECKED_IN,
        hotel.rooms["103"],
        3,
    )


def test_reservation_find_applies_every_filter(hotel: Hotel) -> None:
    """find() filters by arrival, departure, in-house night and status, combined with AND."""
    a = stored(hotel, arrival=D1, nights=2, number="N-0003")
    b = stored(hotel, arrival=D1, nights=1, number="N-0001", status=ReservationStatus.CHECKED_IN)
    c = stored(hotel, arrival=D2, nights=2, number="N-0002", status=ReservationStatus.CANCELLED)

    def ids(found: list[Reservation]) -> list[str]:
        return [r.id for r in found]

    with unit(hotel) as uow:
        find = uow.reservations.find
        assert ids(find()) == [b.id, a.id, c.id]  # by arrival, then number
        assert ids(find(arrival=D1)) == [b.id, a.id]
        assert ids(find(departure=D3)) == [a.id]
        assert ids(find(in_house_on=D2)) == [a.id, c.id]  # departure day is not in house
        assert ids(find(statuses=[ReservationStatus.CHECKED_IN])) == [b.id]
        assert ids(find(statuses=[])) == []
        assert ids(find(in_house_on=D2, statuses=[ReservationStatus.BOOKED])) == [a.id]
        assert ids(find(arrival=D2, departure=D4)) == [c.id]
        assert find(arrival=D4) == []


def test_hold_room_and_held_nights(hotel: Hotel) -> None:
    """Holds are per night, ``besides`` excludes the asker, and a re-hold replaces nights."""
    a, b = stored(hotel, nights=3), stored(hotel)
    r101, r102 = hotel.rooms["101"], hotel.rooms["102"]
    with unit(hotel) as uow:
        uow.reservations.hold_room(a.id, r101, [D1, D2, D3])
        uow.reservations.hold_room(a.id, r102, [D3])
        uow.reservations.hold_room(b.id, r101, [])  # nothing to hold is fine
    with unit(hotel) as uow:
        held = uow.reservations.held_nights
        assert held(r101, [D1, D2, D3, D4], besides=b.id) == {D1, D2}
        assert held(r102, [D1, D2, D3, D4], besides=b.id) == {D3}
        assert held(r101, [D1, D2, D3], besides=a.id) == set()
        assert held(r101, [], besides=b.id) == set()


def test_held_nights_ignores_stays_that_are_no_longer_active(hotel: Hotel) -> None:
    """A cancelled or checked-out stay's holds never block the room."""
    a = stored(hotel)
    r101 = hotel.rooms["101"]
    with unit(hotel) as uow:
        uow.reservations.hold_room(a.id, r101, [D1, D2])
        uow.reservations.save(a.advance(ReservationStatus.CANCELLED))
    with unit(hotel) as uow:
        assert uow.reservations.held_nights(r101, [D1, D2], besides=new_id()) == set()


def test_release_nights_drops_holds_and_inventory_of_those_nights(hotel: Hotel) -> None:
    """Released nights are neither held nor sold; the other nights stay."""
    a = stored(hotel, nights=3)
    r101 = hotel.rooms["101"]
    with unit(hotel) as uow:
        uow.reservations.hold_room(a.id, r101, [D1, D2, D3])
        uow.reservations.release_nights(a.id, [D2, D3])
        uow.reservations.release_nights(a.id, [])
    with unit(hotel) as uow:
        assert uow.reservations.held_nights(r101, [D1, D2, D3], besides="") == {D1}
        sold = uow.reservations.sold_by_night(hotel.std, [D1, D2, D3])
    assert (sold.get(D1, 0), sold.get(D2, 0), sold.get(D3, 0)) == (1, 0, 0)


def test_sold_by_night_counts_active_reservations_of_the_type(hotel: Hotel) -> None:
    """Booked and checked-in stays count per night; cancelled stays and other types do not."""
    stored(hotel, arrival=D1, nights=2)
    stored(hotel, arrival=D2, nights=2, status=ReservationStatus.CHECKED_IN)
    stored(hotel, arrival=D1, nights=3, status=ReservationStatus.CANCELLED)
    stored(hotel, arrival=D1, nights=3, status=ReservationStatus.CHECKED_OUT)
    stored(hotel, arrival=D1, nights=1, room_type=hotel.twn)
    with unit(hotel) as uow:
        std = uow.reservations.sold_by_night(hotel.std, [D1, D2, D3, D4])
        twn = uow.reservations.sold_by_night(hotel.twn, [D1, D2])
        none = uow.reservations.sold_by_night(hotel.std, [])
    assert {n: std.get(n, 0) for n in (D1, D2, D3, D4)} == {D1: 1, D2: 2, D3: 1, D4: 0}
    assert all(type(v) is int for v in std.values())
    assert dict(twn) == {D1: 1}
    assert not none


def test_registry_keeps_guests_in_order_with_every_field(hotel: Hotel) -> None:
    """The registry comes back in the order given, every field kept; a re-registration replaces."""
    booking = stored(hotel)
    foreign = RegistryEntry(
        name="Jane Doe",
        address="1 Main St, Springfield, USA",
        contact="+1-555-0100",
        resident_in_japan=False,
        nationality="US",
        passport_number="X1234567",
        passport_copy_kept=True,
        exemption=Exemption.SCHOOL_TRIP,
    )
    entries = [guest(0), foreign, guest(2)]
    with unit(hotel) as uow:
        uow.reservations.register_guests(booking.id, [guest(9)], NOW)
        uow.reservations.register_guests(booking.id, entries, NOW)  # replaces the first
    with unit(hotel) as uow:
        assert uow.reservations.registry(booking.id) == entries
        assert uow.reservations.registry(new_id()) == []


def test_times_are_stored_as_aware_utc_to_the_microsecond(hotel: Hotel) -> None:
    """Registry and posting times given in JST come back as the same instant, in UTC."""
    booking = stored(hotel)
    appended = line()
    with unit(hotel) as uow:
        uow.reservations.register_guests(booking.id, [guest(0)], NOW.astimezone(JST))
        folio_id = uow.folios.for_reservation(booking.id).id
        uow.folios.append(folio_id, appended, actor="staff-7", at=NOW.astimezone(JST))
    with unit(hotel) as uow:
        registered = uow.connection.execute(
            sa.select(registry_entries.c.registered_at).where(
                registry_entries.c.reservation_id == booking.id
            )
        ).scalar_one()
        posted = uow.connection.execute(
            sa.select(folio_lines.c.posted_by, folio_lines.c.posted_at).where(
                folio_lines.c.id == appended.id
            )
        ).one()
    for back in (registered, posted.posted_at):
        assert type(back) is datetime
        assert back == NOW
        assert back.utcoffset() == timedelta(0)
        assert back.microsecond == NOW.microsecond
    assert posted.posted_by == "staff-7"


def test_register_guests_refuses_naive_datetimes(hotel: Hotel) -> None:
    """A naive registration time is refused rather than stored ambiguously."""
    booking = stored(hotel)
    with pytest.raises(sa.exc.StatementError), unit(hotel) as uow:
        uow.reservations.register_guests(booking.id, [guest(0)], NOW.replace(tzinfo=None))


# --- folios ----------------------------------------------------------------------------------


def test_folio_add_get_and_for_reservation(hotel: Hotel) -> None:
    """A new folio is open and empty, found by its id and by its reservation."""
    booking = stored(hotel)
    folio = Folio(new_id(), booking.id)
    other = stored(hotel)
    with unit(hotel) as uow:
        uow.folios.add(folio)
    with unit(hotel) as uow:
        assert uow.folios.get(folio.id) == folio
        assert uow.folios.get(folio.id, for_update=True) == folio
        assert uow.folios.for_reservation(other.id).reservation_id == other.id
    assert folio.status is FolioStatus.OPEN


def test_folio_append_keeps_lines_in_order_at_positions_one_to_n(hotel: Hotel) -> None:
    """Appended lines come back equal and in order, at positions 1, 2, 3 …"""
    booking = stored(hotel)
    charge = line(BIG_YEN)
    payment = line(
        -3_000,
        kind=LineKind.PAYMENT,
        category="cash",
        tax_class=TaxClass.NONE,
        tax_included=True,
        night=None,
    )
    void = line(BIG_YEN, kind=LineKind.VOID, voids=charge.id, description="間違い")
    with unit(hotel) as uow:
        folio_id = uow.folios.for_reservation(booking.id).id
        for appended in (charge, payment, void):
            uow.folios.append(folio_id, appended, actor="staff-1", at=NOW)
    with unit(hotel) as uow:
        back = uow.folios.get(folio_id)
        positions = uow.connection.execute(
            sa.select(folio_lines.c.position, folio_lines.c.id)
            .where(folio_lines.c.folio_id == folio_id)
            .order_by(folio_lines.c.position)
        ).all()
    assert back.lines == (charge, payment, void)
    assert [tuple(p) for p in positions] == [(1, charge.id), (2, payment.id), (3, void.id)]
    assert back.lines[0].amount == BIG_YEN
    assert type(back.lines[0].business_date) is date
    assert back.lines[0].tax_included is False
    assert back.lines[1].night is None


def test_folio_positions_are_per_folio(hotel: Hotel) -> None:
    """Each folio numbers its own lines from 1."""
    a, b = stored(hotel), stored(hotel)
    with unit(hotel) as uow:
        fa = uow.folios.for_reservation(a.id).id
        fb = uow.folios.for_reservation(b.id).id
        uow.folios.append(fa, line(), actor="s", at=NOW)
        uow.folios.append(fb, line(), actor="s", at=NOW)
        uow.folios.append(fa, line(), actor="s", at=NOW)
        rows = uow.connection.execute(
            sa.select(folio_lines.c.folio_id, folio_lines.c.position).order_by(
                folio_lines.c.folio_id, folio_lines.c.position
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted([(fa, 1), (fa, 2), (fb, 1)])


def test_folio_line_id_is_never_reused(hotel: Hotel) -> None:
    """Appending a line whose id exists raises AlreadyExists."""
    booking = stored(hotel)
    first = line()
    with unit(hotel) as uow:
        folio_id = uow.folios.for_reservation(booking.id).id
        uow.folios.append(folio_id, first, actor="s", at=NOW)
    with pytest.raises(AlreadyExists), unit(hotel) as uow:
        uow.folios.append(folio_id, first, actor="s", at=NOW)


def test_folio_set_status_stores_and_clears_the_override(hotel: Hotel) -> None:
    """Settling with a manager override stores both; reopening without one clears it."""
    booking = stored(hotel)
    override = ManagerOverride("manager-1", "端数 rounding write-off")
    with unit(hotel) as uow:
        folio = uow.folios.for_reservation(booking.id)
        uow.folios.set_status(folio.settle(Rounding.FLOOR, override))
    with unit(hotel) as uow:
        settled = uow.folios.get(folio.id)
        uow.folios.set_status(folio)
    with unit(hotel) as uow:
        reopened = uow.folios.get(folio.id)
    assert settled.status is FolioStatus.SETTLED
    assert settled.override == override
    assert reopened.status is FolioStatus.OPEN
    assert reopened.override is None


# --- outbox and counters ---------------------------------------------------------------------


def test_outbox_next_seq_is_gapless_and_only_taken_on_commit(hotel: Hotel) -> None:
    """Mutation numbers follow the node's last one; a rolled-back unit gives its number back."""
    with unit(hotel) as uow:
        start = uow.outbox.next_seq()
        assert uow.outbox.next_seq() == start + 1
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)
    with factory(hotel.property_id) as uow:
        assert uow.outbox.next_seq() == start + 2  # not committed
    with unit(hotel) as uow:
        assert uow.outbox.next_seq() == start + 2
    with unit(hotel, new_id()) as uow:
        assert uow.outbox.next_seq() == start + 3  # one sequence per node, not per property
    assert start == 11  # the hotel's ten setup commands took 1..10


def test_outbox_append_stores_the_mutation_exactly(hotel: Hotel) -> None:
    """An appended mutation reads back equal, checksum intact, and is pending."""
    with unit(hotel) as uow:
        before = uow.outbox.pending_count()
        assert before == 10  # the hotel's setup commands
        assert [m.seq for m in uow.outbox.all()] == list(range(1, 11))
        sealed = mutation(uow.outbox.next_seq())
        uow.outbox.append(sealed, ["k:1"])
    with unit(hotel) as uow:
        back = uow.outbox.all()[-1]
        assert uow.outbox.pending_count() == before + 1
    assert back == sealed
    assert back.checksum_ok()
    assert back.priority is Priority.PAYMENT


def test_outbox_heads_follow_the_latest_mutation_per_key(hotel: Hotel) -> None:
    """heads() names each key's latest mutation once, in key order; unknown keys add nothing."""
    with unit(hotel) as uow:
        m1 = mutation(uow.outbox.next_seq())
        uow.outbox.append(m1, ["b:1", "a:1"])
        m2 = mutation(uow.outbox.next_seq())
        uow.outbox.append(m2, ["b:1", "b:1"])
    with unit(hotel) as uow:
        heads = uow.outbox.heads
        assert heads(["a:1"]) == (m1.id,)
        assert heads(["b:1"]) == (m2.id,)
        assert heads(["b:1", "a:1", "zz:unknown"]) == (m1.id, m2.id)
        assert heads([]) == ()
        assert heads(["zz:unknown"]) == ()
        m3 = mutation(uow.outbox.next_seq())
        uow.outbox.append(m3, ["a:1", "b:1"])
        assert heads(["a:1", "b:1"]) == (m3.id,)  # one mutation heading two keys, once


def test_counters_are_gapless_per_name_and_per_property(hotel: Hotel) -> None:
    """Each named counter counts from 1 on its own; rolled-back values are given back."""
    other = new_id()
    with unit(hotel) as uow:
        assert [uow.counters.next("invoice") for _ in range(3)] == [1, 2, 3]
        assert uow.counters.next("receipt") == 1
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)
    with factory(hotel.property_id) as uow:
        assert uow.counters.next("invoice") == 4  # rolled back below
    with unit(hotel) as uow:
        assert uow.counters.next("invoice") == 4
    with unit(hotel, other) as uow:
        assert uow.counters.next("invoice") == 1
