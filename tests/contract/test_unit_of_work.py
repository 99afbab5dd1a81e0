"""The unit-of-work contract: atomic commits, rollbacks, translated errors, locks, migrations.

Every test runs on SQLite and on PostgreSQL (the ``node`` and ``hotel`` fixtures are
parametrised over both backends).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import psycopg.errors
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc as sa_exc

from support.hotel import ACTOR, Hotel
from yadori.bootstrap import Yadori
from yadori.domain.conflicts import Register, RegisterStamp
from yadori.domain.errors import AlreadyExists, InvalidInput, UnknownRoom
from yadori.domain.folio import Folio, FolioLine, LineKind
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition, Room
from yadori.services import commands as c
from yadori.services.errors import StorageUnavailable
from yadori.storage.engine import make_engine
from yadori.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from yadori.storage.tables import folio_lines, metadata
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory, writers_waiting
from yadori.sync.mutation import Mutation, Priority, make_mutation

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
THREADS = 2
CHARGES_PER_THREAD = 50


def factory(hotel: Hotel) -> SqlUnitOfWorkFactory:
    """Units of work on the hotel's database."""
    return SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)


def sealed(uow: SqlUnitOfWork, name: str = "test") -> Mutation:
    """A mutation that takes the unit's next sequence number."""
    return make_mutation(
        id=new_id(),
        origin="test",
        seq=uow.outbox.next_seq(),
        hlc="000000000000001-000000-test",
        name=name,
        args={},
        deps=(),
        priority=Priority.LOG,
        actor=ACTOR,
    )


def snapshot(hotel: Hotel) -> tuple[int, int, int]:
    """Rooms, mutations and the reservation counter, as a fresh unit of work sees them."""
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        rooms = len(uow.rooms.list())
        mutations = len(uow.outbox.all())
    with factory(hotel)(hotel.property_id) as uow:
        counter = uow.counters.next("reservation")  # peek: rolled back below
    return rooms, mutations, counter


def test_commit_makes_rows_and_their_mutation_visible_together(hotel: Hotel) -> None:
    """Nothing is visible to another unit before commit; rows and outbox row are after it."""
    room = Room(new_id(), "301", hotel.std, 3)
    units = factory(hotel)
    with units(hotel.property_id) as writer:
        writer.rooms.add(room)
        mutation = sealed(writer)
        writer.outbox.append(mutation, [f"room:{room.id}"])
        with units(hotel.property_id, read_only=True) as reader:
            with pytest.raises(UnknownRoom):
                reader.rooms.get(room.id)
            assert mutation.id not in {m.id for m in reader.outbox.all()}
        writer.commit()
    with units(hotel.property_id, read_only=True) as reader:
        assert reader.rooms.get(room.id) == room
        assert reader.outbox.all()[-1] == mutation
        assert reader.outbox.heads([f"room:{room.id}"]) == (mutation.id,)


def test_bus_commits_the_change_and_its_mutation_at_once(hotel: Hotel) -> None:
    """A command's row change and its outbox row are both there once execute returns."""
    outcome = hotel.run(c.SetRoomCondition(room_id=hotel.rooms["101"], condition=Condition.DIRTY))
    room, last, pending = hotel.node.bus.read(
        hotel.property_id,
        lambda uow: (
            uow.rooms.get(hotel.rooms["101"]),
            uow.outbox.all()[-1],  # type: ignore[attr-defined]
            uow.outbox.pending_count(),
        ),
    )
    assert room.condition is Condition.DIRTY
    assert last == outcome.mutation
    assert pending == 11


def test_an_exception_inside_the_unit_rolls_back_everything(hotel: Hotel) -> None:
    """Rows, outbox row, heads and counters written before an error are all undone."""
    before = snapshot(hotel)
    room_id = new_id()

    def write_then_fail() -> None:
        with factory(hotel)(hotel.property_id) as uow:
            uow.rooms.add(Room(room_id, "301", hotel.std, 3))
            uow.counters.next("reservation")
            uow.outbox.append(sealed(uow), [f"room:{room_id}"])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):  # the error itself is not translated
        write_then_fail()
    assert snapshot(hotel) == before
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        assert uow.outbox.heads([f"room:{room_id}"]) == ()


def test_leaving_without_commit_rolls_back(hotel: Hotel) -> None:
    """A unit of work that ends without commit keeps nothing."""
    before = snapshot(hotel)
    with factory(hotel)(hotel.property_id) as uow:
        uow.rooms.add(Room(new_id(), "301", hotel.std, 3))
        uow.outbox.append(sealed(uow), ["room:x"])
    assert snapshot(hotel) == before


def test_a_duplicate_id_raises_already_exists(hotel: Hotel) -> None:
    """Reusing a primary key or a unique code raises the domain's AlreadyExists, chained."""
    units = factory(hotel)
    with pytest.raises(AlreadyExists) as raised, units(hotel.property_id) as uow:
        uow.rooms.add(Room(hotel.rooms["101"], "999", hotel.std, 9))
    assert type(raised.value) is AlreadyExists
    assert isinstance(raised.value.__cause__, sa_exc.IntegrityError)
    with pytest.raises(AlreadyExists), units(hotel.property_id) as uow:
        uow.rooms.add(Room(new_id(), "101", hotel.std, 1))  # unique (property, number)


def test_a_duplicate_id_through_the_bus_appends_no_mutation(hotel: Hotel) -> None:
    """A command that reuses an id is refused with AlreadyExists and leaves no trace."""
    before = snapshot(hotel)
    cmd = c.CreateRoom(room_id=hotel.rooms["102"], number="501", room_type_id=hotel.std, floor=5)
    with pytest.raises(AlreadyExists):
        hotel.run(cmd)
    assert snapshot(hotel) == before


def test_a_reference_to_nothing_raises_invalid_input(hotel: Hotel) -> None:
    """A foreign key to a row that does not exist raises InvalidInput, not a driver error.

    At the latest when the unit of work commits: folio lines and room saves are written
    behind, in batches.
    """
    missing = new_id()
    cases: list[Callable[[SqlUnitOfWork], None]] = [
        lambda uow: uow.folios.add(Folio(new_id(), missing)),
        lambda uow: uow.rooms.add(Room(new_id(), "301", missing, 3)),
        lambda uow: uow.folios.append(
            missing,
            FolioLine(new_id(), LineKind.CHARGE, "misc", "x", 100, NOW.date()),
            actor="s",
            at=NOW,
        ),
        lambda uow: uow.reservations.hold_room(missing, hotel.rooms["101"], [NOW.date()]),
    ]

    def commit(case: Callable[[SqlUnitOfWork], None]) -> None:
        with factory(hotel)(hotel.property_id) as uow:
            case(uow)
            uow.commit()

    for case in cases:
        with pytest.raises(InvalidInput) as raised:
            commit(case)
        assert type(raised.value) is InvalidInput
        assert isinstance(raised.value.__cause__, sa_exc.IntegrityError)


def test_a_value_too_long_for_its_column_is_invalid_input_on_both_backends(hotel: Hotel) -> None:
    """A 300-character guest name is refused with InvalidInput, the same on both backends."""
    before = len(hotel.node.bus.read(hotel.property_id, lambda uow: uow.outbox.all()))  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        hotel.book(name="宿" * 300)
    after = len(hotel.node.bus.read(hotel.property_id, lambda uow: uow.outbox.all()))  # type: ignore[attr-defined]
    assert after == before


def test_refusals_of_data_are_told_from_the_databases_other_errors(hotel: Hotel) -> None:
    """``refused_data`` names what the database refuses for the data, which a replay meets again
    every time (central then rejects that mutation alone, decision 0051): a foreign key, as the
    statement runs or written behind. Not a duplicate key (it has its own path), nor a lost
    connection, a deadlock, a locked file or the code's own error (retried, or a bug)."""
    units = factory(hotel)
    missing = new_id()

    def refused(case: Callable[[SqlUnitOfWork], object]) -> str | None:
        with units(hotel.property_id) as uow:
            try:
                case(uow)
                uow.flush()
            except Exception as exc:
                return uow.refused_data(exc)
        raise AssertionError("the database refused nothing")

    line = FolioLine(new_id(), LineKind.CHARGE, "misc", "x", 100, NOW.date())
    written_behind = refused(lambda uow: uow.folios.append(missing, line, actor="s", at=NOW))
    at_once = refused(
        lambda uow: uow.connection.execute(sa.insert(folio_lines).values(_line_to(missing)))
    )
    duplicate = refused(lambda uow: uow.rooms.add(Room(hotel.rooms["101"], "999", hotel.std, 9)))
    assert written_behind is not None
    assert at_once is not None
    assert duplicate is None
    with units(hotel.property_id, read_only=True) as uow:
        for other in (
            sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed")),
            sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
            psycopg.errors.DeadlockDetected("deadlock detected"),
            psycopg.errors.UniqueViolation("duplicate key value"),
            psycopg.errors.UntranslatableCharacter("a central whose encoding is not UTF8"),
            psycopg.errors.CharacterNotInRepertoire("the same, in another form"),
            KeyError("the code's own"),
        ):
            assert uow.refused_data(other) is None, other
        for data in (
            psycopg.errors.StringDataRightTruncation("value too long"),
            psycopg.errors.CheckViolation("violates check constraint"),
            sqlite3.IntegrityError("NOT NULL constraint failed: folio_lines.amount"),
            # the driver refuses a NUL in a text itself, with no SQLSTATE
            psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        ):
            assert uow.refused_data(data) == type(data).__name__


def _line_to(folio_id: str) -> dict[str, object]:
    """A folio line's row on ``folio_id``, every column given."""
    return {
        "id": new_id(),
        "folio_id": folio_id,
        "position": 1,
        "kind": "charge",
        "category": "misc",
        "description": "",
        "amount": 1,
        "business_date": NOW.date(),
        "tax_class": "standard",
        "tax_included": True,
        "voids": None,
        "night": None,
        "posted_by": "s",
        "posted_at": NOW,
    }


def test_a_read_only_unit_never_blocks_a_writer(hotel: Hotel) -> None:
    """A writer commits while a read-only unit that has already read is still open."""
    units = factory(hotel)
    with units(hotel.property_id, read_only=True) as reader:
        assert len(reader.rooms.list()) == 6
        with units(hotel.property_id, read_only=True) as second:
            second.outbox.pending_count()
            hotel.run(c.SetRoomCondition(room_id=hotel.rooms["101"], condition=Condition.DIRTY))
        reader.properties.get()
    with units(hotel.property_id, read_only=True) as after:
        assert after.rooms.get(hotel.rooms["101"]).condition is Condition.DIRTY


def test_an_unreachable_database_raises_storage_unavailable(node: Yadori) -> None:
    """A database that cannot be opened is StorageUnavailable, never a driver error."""
    url = (
        "sqlite:////nonexistent-dir/yadori/edge.db"
        if node.engine.dialect.name == "sqlite"
        else "postgresql://postgres@127.0.0.1:1/yadori"
    )
    engine = make_engine(url)
    try:
        with pytest.raises(StorageUnavailable), SqlUnitOfWork(engine, new_id(), lambda: NOW):
            pass
    finally:
        engine.dispose()


def test_the_migration_matches_the_tables(node: Yadori) -> None:
    """Alembic finds no difference between the migrated database and tables.py."""
    with node.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_central_compresses_feed_documents_with_lz4(node: Yadori) -> None:
    """On PostgreSQL (built with lz4, as Debian's is) the feed's documents use lz4 TOAST."""
    if node.engine.dialect.name != "postgresql":
        return  # SQLite has no TOAST: nothing to check on the edge
    query = sa.text(
        "SELECT attcompression FROM pg_attribute "
        "WHERE attrelid = 'sync_feed'::regclass AND attname = 'doc'"
    )
    with node.engine.connect() as conn:
        assert conn.execute(query).scalar_one() == "l"


def test_upgrade_is_idempotent(hotel: Hotel) -> None:
    """Upgrading a migrated database again changes nothing and keeps the data."""
    engine = hotel.node.engine
    assert current_revision(engine) == head_revision()
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    rooms = hotel.node.bus.read(hotel.property_id, lambda uow: uow.rooms.list())
    assert len(rooms) == 6
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_concurrent_charges_on_one_folio_all_land_in_order(hotel: Hotel) -> None:
    """Two threads posting 50 charges each to one folio: 100 lines at 1..100, seqs gapless."""
    folio_id = hotel.folio_id(hotel.book())
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def post_many() -> None:
        start.wait()
        for _ in range(CHARGES_PER_THREAD):
            cmd = c.PostCharge(
                folio_id=folio_id,
                line_id=new_id(),
                category="minibar",
                description="水 Water",
                amount=300,
            )
            try:
                hotel.run(cmd)
            except Exception as exc:  # collected: a thread's error must fail the test
                errors.append(exc)

    threads = [threading.Thread(target=post_many) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with factory(hotel)(hotel.property_id, read_only=True) as uow:
        folio = uow.folios.get(folio_id)
        positions = uow.connection.execute(
            sa.select(folio_lines.c.position)
            .where(folio_lines.c.folio_id == folio_id)
            .order_by(folio_lines.c.position)
        ).scalars()
        mutations = uow.outbox.all()
    total = THREADS * CHARGES_PER_THREAD
    assert len(folio.lines) == total
    assert list(positions) == list(range(1, total + 1))
    assert [m.seq for m in mutations] == list(range(1, len(mutations) + 1))
    charges = [m for m in mutations if m.name == "post_charge"]
    assert len(charges) == total
    assert {m.args["line_id"] for m in charges} == {line.id for line in folio.lines}


def _wait_for_lock_waiter(engine: sa.Engine, waiters: int = 1) -> None:
    """Return once ``waiters`` writers wait: on a lock of this PostgreSQL database, or (since
    decision 0038) in this process for their property, before taking a connection."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() + writers_waiting(engine) >= waiters:
                return
        threading.Event().wait(0.01)
    pytest.fail("the blocked writer never waited on the lock")


def test_a_mutation_is_stamped_after_the_mutations_it_depends_on(hotel: Hotel) -> None:
    """HLCs grow with seq and every dep's HLC is older, even when writers wait for locks."""
    booking = hotel.book()
    check_in = threading.Thread(target=hotel.check_in, args=(booking, "101"))
    inspect = threading.Thread(
        target=hotel.run,
        args=(c.SetRoomCondition(room_id=hotel.rooms["101"], condition=Condition.INSPECTED),),
    )
    if hotel.node.engine.dialect.name == "postgresql":
        # Both wait for the writer holding the property (decision 0038), the check-in first;
        # each takes its sequence number and its HLC stamp only once it holds the property.
        with factory(hotel)(hotel.property_id) as blocker:
            blocker.reservations.get(booking.id, for_update=True)
            check_in.start()
            _wait_for_lock_waiter(hotel.node.engine)
            inspect.start()
            _wait_for_lock_waiter(hotel.node.engine, waiters=2)
    else:  # BEGIN IMMEDIATE serialises whole commands
        check_in.start()
        inspect.start()
    inspect.join(timeout=30)
    check_in.join(timeout=30)
    mutations = hotel.node.bus.read(hotel.property_id, lambda uow: uow.outbox.all())  # type: ignore[attr-defined]
    assert [m.name for m in mutations[-2:]] in (
        ["set_room_condition", "check_in"],
        ["check_in", "set_room_condition"],
    )
    hlc = {m.id: m.hlc for m in mutations}
    assert [m.hlc for m in mutations] == sorted(hlc.values())
    assert all(hlc[dep] < m.hlc for m in mutations for dep in m.deps)


def test_two_units_taking_a_new_counters_first_values_both_succeed(hotel: Hotel) -> None:
    """The first value of a fresh counter, taken by two writers at once: 1 and 2, no error."""
    on_postgres = hotel.node.engine.dialect.name == "postgresql"
    units = factory(hotel)
    taken: list[int | BaseException] = []

    def second_writer() -> None:
        try:
            with units(hotel.property_id) as uow:
                value = uow.counters.next("invoice")
                uow.commit()
            taken.append(value)
        except Exception as exc:  # collected: a thread's error must fail the test
            taken.append(exc)

    writer = threading.Thread(target=second_writer)
    with units(hotel.property_id) as first:
        assert first.counters.next("invoice") == 1
        writer.start()
        if on_postgres:
            _wait_for_lock_waiter(hotel.node.engine)  # blocked behind the first writer
        else:
            threading.Event().wait(0.1)  # BEGIN IMMEDIATE: waiting for the write lock
        first.commit()
    writer.join(timeout=30)
    assert taken == [2]


def test_the_room_registers_start_as_the_whole_room_s_and_central_republishes(
    hotel: Hotel,
) -> None:
    """Migration 0008 (decision 0067): each register takes the room's version and last writer,
    so a write queued before the upgrade is still based on the current state; rooms the feed
    holds (central's) are marked for the next pull to publish again, with their registers."""
    engine = hotel.node.engine
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    a, b = hotel.rooms["101"], hotel.rooms["102"]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE rooms SET version = 5, stamp_priority = 20, stamp_hlc = 'h5', "
                "stamp_node = 'e1' WHERE id = :id"
            ),
            {"id": a},
        )
        conn.execute(sa.text("DELETE FROM sync_dirty"))
        conn.execute(
            sa.text("DELETE FROM sync_feed WHERE key IN (:a, :b)"),
            {"a": f"{hotel.property_id}/room:{a}", "b": f"{hotel.property_id}/room:{b}"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO sync_feed (key, property_id, version, doc, crc32) "
                "VALUES (:key, :pid, 999999999, NULL, 0)"
            ),
            {"key": f"{hotel.property_id}/room:{a}", "pid": hotel.property_id},
        )
    upgrade(engine)
    room = hotel.node.bus.read(hotel.property_id, lambda uow: uow.rooms.get(a))
    stamp = RegisterStamp(20, "h5", "e1")
    assert room.condition_register == room.service_register == Register(5, stamp)
    with engine.connect() as conn:
        marks = set(conn.execute(sa.text("SELECT key FROM sync_dirty")).scalars())
        fed = conn.execute(sa.text("SELECT key FROM sync_feed WHERE key LIKE '%/room:%'"))
        in_feed = set(fed.scalars())
    assert marks == in_feed  # the rooms the feed holds (central's), each once
    assert f"{hotel.property_id}/room:{a}" in marks
    assert f"{hotel.property_id}/room:{b}" not in marks  # not in the feed: an edge's
