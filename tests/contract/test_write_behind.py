"""Written-behind rows (new reservations and folios, folio lines, room saves): every read sees
them, savepoints keep them apart.

Central replays hundreds of postings in one transaction; the repositories hold their inserts and
updates back and the unit of work writes them in one batched statement before the connection
runs anything else. These tests hold on SQLite and on PostgreSQL (``hotel`` is parametrised).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from support.hotel import TODAY, Hotel
from yadori.domain.conflicts import RegisterStamp
from yadori.domain.errors import AlreadyExists
from yadori.domain.folio import Folio, FolioLine, LineKind
from yadori.domain.ids import new_id
from yadori.domain.reservations import NightPrice, Reservation, ReservationStatus
from yadori.domain.rooms import Condition, Service
from yadori.storage.tables import folio_lines, rooms
from yadori.storage.unit_of_work import SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAMP = RegisterStamp(30, "000000000000100-000000-C", "C")  # who wrote the rooms changed here


def factory(hotel: Hotel) -> SqlUnitOfWorkFactory:
    """Units of work on the hotel's database."""
    return SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)


def charge(amount: int = 1_000) -> FolioLine:
    """A misc charge line."""
    return FolioLine(new_id(), LineKind.CHARGE, "misc", "x", amount, NOW.date())


def new_folio(hotel: Hotel) -> str:
    """The folio of a new booking."""
    reservation = hotel.book()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        return uow.folios.for_reservation(reservation.id).id


def line_count(hotel: Hotel, folio_id: str) -> int:
    """Committed lines of a folio."""
    with hotel.node.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(folio_lines.c.folio_id == folio_id)
        return int(conn.execute(query).scalar_one())


def test_lines_appended_are_seen_by_every_read_of_the_same_unit(hotel: Hotel) -> None:
    """The folio with its lines, a raw query and the position of the next line all see them."""
    folio_id = new_folio(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        uow.folios.get(folio_id, for_update=True, lines=False)
        for amount in (100, 200, 300):
            uow.folios.append(folio_id, charge(amount), actor="s", at=NOW)
        assert [line.amount for line in uow.folios.get(folio_id).lines] == [100, 200, 300]
        raw = sa.select(sa.func.sum(folio_lines.c.amount)).where(folio_lines.c.folio_id == folio_id)
        assert uow.connection.execute(raw).scalar_one() == 600
        uow.folios.append(folio_id, charge(400), actor="s", at=NOW)
        uow.commit()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        lines = uow.folios.get(folio_id).lines
    assert [line.amount for line in lines] == [100, 200, 300, 400]


def test_nothing_written_behind_survives_a_unit_that_does_not_commit(hotel: Hotel) -> None:
    """Lines and room saves held back are dropped with the transaction."""
    folio_id = new_folio(hotel)
    room_id = hotel.rooms["101"]
    with factory(hotel)(hotel.property_id) as uow:
        uow.folios.append(folio_id, charge(), actor="s", at=NOW)
        room = uow.rooms.get(room_id, for_update=True)
        uow.rooms.save(room.set_condition(Condition.DIRTY).stamped(STAMP))
    assert line_count(hotel, folio_id) == 0
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        assert uow.rooms.get(room_id).condition is room.condition


def test_a_room_saved_is_seen_by_queries_across_tables(hotel: Hotel) -> None:
    """A room saved and not yet written is written before a query of the rooms table runs."""
    room_id = hotel.rooms["101"]
    with factory(hotel)(hotel.property_id) as uow:
        room = uow.rooms.get(room_id, for_update=True)
        target = Condition.DIRTY if room.condition is not Condition.DIRTY else Condition.CLEAN
        uow.rooms.save(room.set_condition(target).stamped(STAMP))
        raw = sa.select(rooms.c.condition).where(rooms.c.id == room_id)
        assert uow.connection.execute(raw).scalar_one() == target.value
        assert {r.id: r.condition for r in uow.rooms.list()}[room_id] is target
        uow.commit()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        assert uow.rooms.get(room_id).condition is target


def test_a_savepoint_rolled_back_drops_only_its_own_rows(hotel: Hotel) -> None:
    """Rows held back before a savepoint are kept; those of the rolled-back savepoint are not."""
    folio_id = new_folio(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        uow.folios.get(folio_id, for_update=True, lines=False)
        uow.folios.append(folio_id, charge(100), actor="s", at=NOW)

        def refused() -> None:
            with uow.savepoint():
                uow.folios.append(folio_id, charge(200), actor="s", at=NOW)
                raise RuntimeError

        with pytest.raises(RuntimeError):
            refused()
        uow.folios.append(folio_id, charge(300), actor="s", at=NOW)
        uow.commit()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        lines = uow.folios.get(folio_id).lines
    assert [line.amount for line in lines] == [100, 300]
    with hotel.node.engine.connect() as conn:
        query = sa.select(folio_lines.c.position).where(folio_lines.c.folio_id == folio_id)
        assert sorted(conn.execute(query).scalars()) == [1, 2]  # no gap where 200 was


def test_a_duplicate_line_is_refused_inside_its_savepoint(hotel: Hotel) -> None:
    """A clash of a held-back row is raised where it belongs: inside the savepoint."""
    folio_id = new_folio(hotel)
    line = charge(100)
    with factory(hotel)(hotel.property_id) as uow:
        uow.folios.append(folio_id, line, actor="s", at=NOW)
        uow.commit()

    def again() -> None:
        with factory(hotel)(hotel.property_id) as uow:
            with uow.savepoint():
                uow.folios.append(folio_id, line, actor="s", at=NOW)
            uow.commit()

    with pytest.raises(AlreadyExists):
        again()
    assert line_count(hotel, folio_id) == 1


def test_read_ahead_locks_and_reads_folios_and_rooms_in_a_few_statements(hotel: Hotel) -> None:
    """After read_ahead, posting to and reading those aggregates costs no round trip."""
    folios = [new_folio(hotel) for _ in range(3)]
    room_ids = [hotel.rooms["101"], hotel.rooms["102"]]
    statements: list[str] = []
    with factory(hotel)(hotel.property_id) as uow:
        uow.read_ahead(
            [f"{hotel.property_id}/folio:{f}" for f in folios]
            + [f"room:{r}" for r in room_ids]
            + ["reservation:ignored", "folio:" + new_id()]
        )
        sa.event.listen(
            uow.connection, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        for folio_id in folios:
            uow.folios.get(folio_id, for_update=True, lines=False)
            uow.folios.append(folio_id, charge(), actor="s", at=NOW)
        for room_id in room_ids:
            room = uow.rooms.get(room_id, for_update=True)
            uow.rooms.save(room.set_condition(Condition.DIRTY).stamped(STAMP))
        assert statements == []
        uow.commit()
    assert len(statements) == 2  # one batched insert of lines, one batched update of rooms
    assert [line_count(hotel, f) for f in folios] == [1, 1, 1]


def test_read_ahead_takes_each_folios_next_position_with_the_folio(hotel: Hotel) -> None:
    """A folio with lines continues after its last one, an empty folio starts at 1, and both
    are read (and locked) in one statement."""
    long_stay, empty = new_folio(hotel), new_folio(hotel)
    hotel.charges([100, 200, 300], long_stay)
    statements: list[str] = []
    with factory(hotel)(hotel.property_id) as uow:
        sa.event.listen(
            uow.connection, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        uow.read_ahead([f"folio:{long_stay}", f"folio:{empty}"])
        assert len(statements) == 1
        for folio_id in (long_stay, empty):
            uow.folios.append(folio_id, charge(), actor="s", at=NOW)
        uow.commit()
    with hotel.node.engine.connect() as conn:
        last = dict(
            conn.execute(
                sa.select(folio_lines.c.folio_id, sa.func.max(folio_lines.c.position))
                .where(folio_lines.c.folio_id.in_([long_stay, empty]))
                .group_by(folio_lines.c.folio_id)
            ).all()
        )
    assert last == {long_stay: 4, empty: 1}


def test_read_ahead_after_lines_appended_in_the_same_unit_continues_after_them(
    hotel: Hotel,
) -> None:
    """Lines appended and not yet written, then the folio read ahead (as a replay's later run
    of the same transaction would): the next line takes the next position, no gap, no clash."""
    folio_id = new_folio(hotel)
    hotel.charges([100], folio_id)
    statements: list[str] = []
    with factory(hotel)(hotel.property_id) as uow:
        uow.folios.append(folio_id, charge(), actor="s", at=NOW)
        sa.event.listen(
            uow.connection, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        uow.folios.read_ahead([folio_id])  # writes the line held back, then reads the folio
        assert any("last_position" in sql for sql in statements)
        uow.folios.append(folio_id, charge(), actor="s", at=NOW)
        uow.commit()
    with hotel.node.engine.connect() as conn:
        positions = conn.execute(
            sa.select(folio_lines.c.position)
            .where(folio_lines.c.folio_id == folio_id)
            .order_by(folio_lines.c.position)
        ).scalars()
        assert list(positions) == [1, 2, 3]


def test_sellable_counts_follow_a_room_taken_out_of_order_in_the_same_unit(hotel: Hotel) -> None:
    """Counts read once per transaction are read again after a room's service changes."""
    room_id = hotel.rooms["101"]
    with factory(hotel)(hotel.property_id) as uow:
        before = uow.rooms.count_sellable(hotel.std)
        assert uow.rooms.count_sellable(hotel.std) == before  # read once
        room = uow.rooms.get(room_id, for_update=True)
        uow.rooms.save(room.set_service(Service.OUT_OF_ORDER, "leak").stamped(STAMP))
        assert uow.rooms.count_sellable(hotel.std) == before - 1
        assert uow.room_types.get(hotel.std) is uow.room_types.get(hotel.std)
        assert uow.rate_plans.get(hotel.plan) is uow.rate_plans.get(hotel.plan)


def reservation(hotel: Hotel, nights: int = 2, number: str | None = None) -> Reservation:
    """A new standard-room booking from today (not yet stored)."""
    ident = new_id()
    return Reservation(
        id=ident,
        number=number or ident[-12:],
        guest_name="Sato Taro",
        arrival=TODAY,
        departure=TODAY + timedelta(days=nights),
        adults=1,
        room_type_id=hotel.std,
        rate_plan_id=hotel.plan,
        nights=tuple(NightPrice(TODAY + timedelta(days=n), 11_000, True) for n in range(nights)),
    )


def test_reservations_and_folios_added_are_written_with_their_lines_in_one_flush(
    hotel: Hotel,
) -> None:
    """A booking, its folio and lines posted to it: one insert per table, parents first."""
    statements: list[str] = []
    with factory(hotel)(hotel.property_id) as uow:
        sa.event.listen(
            uow.connection, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        added = [reservation(hotel) for _ in range(3)]
        for booked in added:
            uow.reservations.add(booked)
            folio = Folio(new_id(), booked.id)
            uow.folios.add(folio)
            assert uow.folios.get(folio.id, for_update=True, lines=False) == folio  # no read
            uow.folios.append(folio.id, charge(), actor="s", at=NOW)
        assert statements == []
        uow.commit()
    assert len(statements) == 4  # reservations, their nights, folios, folio lines
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        for booked in added:
            assert uow.reservations.get(booked.id) == booked
            assert [line.amount for line in uow.folios.for_reservation(booked.id).lines] == [1_000]


def test_bookings_counted_in_a_unit_include_those_it_added(hotel: Hotel) -> None:
    """Counts read before an add are counted up; nights read after it are read with it."""
    tonight, tomorrow = TODAY, TODAY + timedelta(days=1)
    hotel.book(nights=1)  # tonight only: the two nights start from different counts
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        was = uow.reservations.sold_by_night(hotel.std, [tomorrow]).get(tomorrow, 0)
    with factory(hotel)(hotel.property_id) as uow:
        before = uow.reservations.sold_by_night(hotel.std, [tonight])[tonight]
        uow.reservations.add(reservation(hotel))
        assert uow.reservations.sold_by_night(hotel.std, [tonight])[tonight] == before + 1
        later = uow.reservations.sold_by_night(hotel.std, [tomorrow])  # read after the add
        assert later[tomorrow] == was + 1
        uow.reservations.add(reservation(hotel))
        both = uow.reservations.sold_by_night(hotel.std, [tonight, tomorrow])
        assert both == {tonight: before + 2, tomorrow: was + 2}
        uow.commit()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        assert uow.reservations.sold_by_night(hotel.std, [tonight])[tonight] == before + 2


def test_bookings_counted_drop_when_a_reservation_in_the_unit_is_cancelled(hotel: Hotel) -> None:
    """A status change or released nights are read again, not counted from memory."""
    booked = reservation(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        uow.reservations.add(booked)
        counted = uow.reservations.sold_by_night(hotel.std, [TODAY])[TODAY]
        cancelled = replace(booked, status=ReservationStatus.CANCELLED, version=2)
        uow.reservations.save(cancelled)
        uow.reservations.release_nights(booked.id, [n.night for n in booked.nights])
        assert uow.reservations.sold_by_night(hotel.std, [TODAY]).get(TODAY, 0) == counted - 1


def test_a_booking_of_a_rolled_back_savepoint_is_neither_written_nor_counted(
    hotel: Hotel,
) -> None:
    """The savepoint drops the held-back rows and the counts that included them."""
    kept, dropped = reservation(hotel), reservation(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        before = uow.reservations.sold_by_night(hotel.std, [TODAY]).get(TODAY, 0)
        uow.reservations.add(kept)

        def refused() -> None:
            with uow.savepoint():
                uow.reservations.add(dropped)
                uow.folios.add(Folio(new_id(), dropped.id))
                assert uow.reservations.sold_by_night(hotel.std, [TODAY])[TODAY] == before + 2
                raise RuntimeError

        with pytest.raises(RuntimeError):
            refused()
        assert uow.reservations.sold_by_night(hotel.std, [TODAY])[TODAY] == before + 1
        uow.commit()
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        assert uow.reservations.get(kept.id) == kept
        assert uow.reservations.find(arrival=TODAY).count(dropped) == 0
        assert uow.reservations.sold_by_night(hotel.std, [TODAY])[TODAY] == before + 1


def test_a_reservation_added_twice_is_refused_at_the_latest_by_the_commit(hotel: Hotel) -> None:
    """A clash of a held-back reservation still becomes AlreadyExists, and nothing is written."""
    booked = reservation(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        uow.reservations.add(booked)
        uow.commit()

    def again() -> None:
        with factory(hotel)(hotel.property_id) as uow:
            uow.reservations.add(reservation(hotel))
            uow.reservations.add(replace(booked, number="other"))
            uow.commit()

    with pytest.raises(AlreadyExists):
        again()
