"""Central's writers of one property run one at a time, as the edge's do (decision 0038).

SQLite gives the edge this with BEGIN IMMEDIATE. On PostgreSQL every write unit of work takes
the property's advisory lock first: a replayed batch counts sold nights and room holders in
memory, and a booking at central's desk must not slip between that count and the batch's
commit. Readers never wait, nor do writers of other properties.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from support.hotel import ACTOR, TODAY, Hotel, build_hotel
from support.locks import wait_until_blocked
from yadori.bootstrap import NodeConfig, bootstrap
from yadori.domain.errors import DomainError, RoomNotAvailable
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.services.errors import StorageUnavailable
from yadori.services.ports import UnitOfWork
from yadori.storage import unit_of_work
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory, writers_waiting
from yadori.sync.hlc import Timestamp
from yadori.sync.mutation import Mutation, Priority, make_mutation

NIGHTS = [TODAY, TODAY + timedelta(days=1)]


@pytest.fixture
def central(pg_url: str) -> Iterator[Hotel]:
    """The small hotel at a central node, on PostgreSQL (SQLite has one writer by design)."""
    node = bootstrap(NodeConfig("central", "central1", "C", pg_url))
    yield build_hotel(node)
    node.close()


def unit(hotel: Hotel, property_id: str | None = None, *, read_only: bool = False) -> SqlUnitOfWork:
    """A unit of work on the hotel's database."""
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: datetime.now(UTC))
    return factory(property_id or hotel.property_id, read_only=read_only)


def sold(hotel: Hotel, room_type_id: str) -> dict[object, int]:
    """Active bookings of a room type on the test nights."""
    return dict(
        hotel.node.bus.read(
            hotel.property_id, lambda uow: uow.reservations.sold_by_night(room_type_id, NIGHTS)
        )
    )


def test_a_write_unit_waits_for_another_of_the_same_property(central: Hotel) -> None:
    order: list[str] = []
    with ThreadPoolExecutor(1) as pool, unit(central) as first:

        def second() -> None:
            with unit(central) as uow:
                order.append("second")
                uow.commit()

        waiting = pool.submit(second)
        wait_until_blocked(central.node.engine, waiting, "second writer")  # type: ignore[arg-type]
        order.append("first")
        first.commit()
        waiting.result(timeout=10)
    assert order == ["first", "second"]


def test_readers_and_writers_of_other_properties_do_not_wait(central: Hotel) -> None:
    with ThreadPoolExecutor(2) as pool, unit(central):

        def read() -> int:
            with unit(central, read_only=True) as uow:
                return len(uow.rooms.list())

        def write_elsewhere() -> None:
            with unit(central, new_id()) as uow:
                uow.commit()

        assert pool.submit(read).result(timeout=5) == 6
        pool.submit(write_elsewhere).result(timeout=5)


def test_the_lock_ends_with_a_rolled_back_unit(central: Hotel) -> None:
    with pytest.raises(RuntimeError), unit(central):
        raise RuntimeError("the command failed")

    def write() -> None:
        with unit(central) as uow:
            uow.commit()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(write).result(timeout=5)


def test_writers_waiting_for_their_property_hold_no_connection(central: Hotel) -> None:
    """More writers queue on one property than the pool has connections: they wait without
    one, so the writer they wait for can still take a second connection (a trust lookup)."""
    waiting = 25  # the pool holds 10 connections and 10 more on overflow
    engine = central.node.engine
    with ThreadPoolExecutor(waiting) as pool, unit(central) as first:

        def write() -> None:
            with unit(central) as uow:
                uow.commit()

        writers = [pool.submit(write) for _ in range(waiting)]
        deadline = time.monotonic() + 10
        while writers_waiting(engine) < waiting - 1:  # one may hold the property meanwhile
            assert time.monotonic() < deadline, f"{writers_waiting(engine)} writers waiting"
            time.sleep(0.01)
        assert engine.pool.checkedout() <= 2  # type: ignore[attr-defined]
        with engine.connect() as conn:  # the first writer can still read beside its unit
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        first.commit()
    for writer in writers:
        writer.result(timeout=10)


def test_a_writer_gives_up_when_its_property_stays_held(
    central: Hotel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_of_work, "WRITER_WAIT_S", 0.2)

    def write() -> None:
        with unit(central) as uow:
            uow.commit()

    with (
        ThreadPoolExecutor(1) as pool,
        unit(central),
        pytest.raises(StorageUnavailable, match="try again"),
    ):
        pool.submit(write).result(timeout=10)
    pool = ThreadPoolExecutor(1)
    with pool:
        pool.submit(write).result(timeout=10)  # free again once the holder ended


def booking(hotel: Hotel, room_type_id: str, number: str | None = None) -> c.CreateReservation:
    """A booking of the test nights (numbered as the node that made it numbered it)."""
    return c.CreateReservation(
        number=number,
        reservation_id=new_id(),
        folio_id=new_id(),
        guest_name="Walk In",
        arrival=NIGHTS[0],
        departure=NIGHTS[-1] + timedelta(days=1),
        adults=1,
        room_type_id=room_type_id,
        rate_plan_id=hotel.plan,
    )


def from_edge(command: c.Command, seq: int) -> Mutation:
    """The mutation an edge would push for a command run there."""
    return make_mutation(
        id=new_id(),
        origin="edge1",
        seq=seq,
        hlc=str(Timestamp(1_796_112_000_000 + seq, 0, "edge1")),
        name=command.name,
        args=command.args(),
        deps=(),
        priority=Priority.STAY,
        actor=ACTOR,
    )


def test_a_desk_booking_waits_for_a_replayed_batch_and_finds_the_last_room_gone(
    central: Hotel,
) -> None:
    """TWN has 2 rooms, one sold. An edge's batch books the other; while the batch is still
    open, central's desk books TWN too. The desk must wait and be refused, not sell a third
    room that the batch's count (taken ahead, in memory) never sees."""
    central.book(room_type=central.twn)
    replayed, go = threading.Event(), threading.Event()

    def on_each(uow: UnitOfWork, m: Mutation, outcome: object) -> None:
        assert not isinstance(outcome, DomainError), outcome
        replayed.set()
        assert go.wait(10)

    def replay() -> None:
        central.node.bus.replay_batch(
            central.property_id,
            [from_edge(booking(central, central.twn, "E1-000001"), 1)],
            "edge",
            on_each,
            lambda uow, outcomes: None,
        )

    with ThreadPoolExecutor(2) as pool:
        batch = pool.submit(replay)
        assert replayed.wait(10)
        desk = pool.submit(central.run, booking(central, central.twn))
        wait_until_blocked(central.node.engine, desk, "desk booking")  # type: ignore[arg-type]
        go.set()
        batch.result(timeout=10)
        with pytest.raises(RoomNotAvailable):
            desk.result(timeout=10)
    assert sold(central, central.twn) == dict.fromkeys(NIGHTS, 2)
