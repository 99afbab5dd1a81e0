"""Pulled documents set aside at the edge, and released, whatever page or pull brings what.

A document is set aside while the edge's own change to that aggregate is unanswered (decision
0009), and every page but a pull's last is set aside whole (a child may come a page before its
parent). The store looks at what is set aside only when something is: these tests hold the
ways a document leaves it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage import aggregates, edge_queue, edge_sync, sql
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.storage.tables import rooms, sync_deferred
from yadori.sync import canonical
from yadori.sync.protocol import PulledChange, PulledResult


@pytest.fixture
def store(edge_hotel: Hotel, edge: Yadori) -> EdgeSyncStore:
    """The edge's sync store, the hotel's set-up answered by central (so nothing is held)."""
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    setup = [PulledResult(p.id, "applied", "", ()) for p in store.pending(1_000)]
    store.apply_pull([], setup, {})
    assert store.pending_count() == 0
    return store


def central_room(edge_hotel: Hotel, room: str, version: int, **row: object) -> PulledChange:
    """The room's document as central would send it, with ``row``'s values in its row."""
    key = f"room:{edge_hotel.rooms[room]}"
    with edge_hotel.node.engine.connect() as conn:
        doc = aggregates.snapshot(conn, key)
    assert doc is not None
    doc["rooms"][0].update(row)  # type: ignore[arg-type]
    text = canonical.encode_plain(doc)
    return PulledChange(f"{edge_hotel.property_id}/{key}", version, text.decode(), zlib.crc32(text))


def condition(edge_hotel: Hotel, room: str) -> str:
    """The room's condition as the edge holds it."""
    with edge_hotel.node.engine.connect() as conn:
        query = sa.select(rooms.c.condition).where(rooms.c.id == edge_hotel.rooms[room])
        return str(conn.execute(query).scalar_one())


def set_aside(edge: Yadori) -> dict[str, int]:
    """Feed key → version of what is set aside."""
    with edge.engine.connect() as conn:
        return dict(conn.execute(sa.select(sync_deferred.c.key, sync_deferred.c.version)).all())


@pytest.fixture
def statements(edge: Yadori) -> Iterator[list[str]]:
    """Every statement run on the edge's engine meanwhile."""
    seen: list[str] = []

    def record(*args: object) -> None:  # conn, cursor, statement, parameters, context, many
        seen.append(str(args[2]))

    sa.event.listen(edge.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(edge.engine, "before_cursor_execute", record)


def test_a_document_held_for_a_local_change_is_released_by_the_pull_that_answers_it(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore
) -> None:
    """The later pull brings the result only, no document: it still releases the held one."""
    edge_hotel.run(c.SetRoomCondition(room_id=edge_hotel.rooms["101"], condition=Condition.CLEAN))
    (mine,) = [p.id for p in store.pending(1_000)]
    store.mark_sent([mine])
    theirs = central_room(edge_hotel, "101", 7, condition="inspected")
    assert store.apply_pull([theirs], [], {}) == 0
    assert condition(edge_hotel, "101") == "clean"  # the local change stands, unanswered
    assert set_aside(edge) == {theirs.key: 7}
    assert store.apply_pull([], [PulledResult(mine, "applied", "", ())], {}) == 1
    assert condition(edge_hotel, "101") == "inspected"
    assert set_aside(edge) == {}


def test_a_newer_version_on_the_last_page_replaces_the_one_set_aside_and_is_restored(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore
) -> None:
    older = central_room(edge_hotel, "102", 5, condition="clean")
    newer = central_room(edge_hotel, "102", 6, condition="inspected")
    assert store.apply_pull([older], [], {}, final=False) == 0
    assert set_aside(edge) == {older.key: 5}
    assert store.apply_pull([newer], [], {}) == 1
    assert condition(edge_hotel, "102") == "inspected"
    assert set_aside(edge) == {}


def test_a_page_set_aside_is_restored_by_a_last_page_that_brings_nothing(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore
) -> None:
    change = central_room(edge_hotel, "103", 9, condition="inspected")
    store.apply_pull([change], [], {}, final=False)
    assert condition(edge_hotel, "103") != "inspected"
    assert store.apply_pull([], [], {}) == 1
    assert condition(edge_hotel, "103") == "inspected"
    assert set_aside(edge) == {}


def test_a_pull_with_nothing_set_aside_only_probes_for_it(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore, statements: list[str]
) -> None:
    """The usual pull (one page, nothing held) neither replaces nor releases anything."""
    change = central_room(edge_hotel, "104", 3, condition="inspected")
    statements.clear()
    assert store.apply_pull([change], [], {"cursor:x": "3"}) == 1
    assert condition(edge_hotel, "104") == "inspected"
    assert [s for s in statements if "sync_deferred" in s] == [
        "SELECT 1 FROM sync_deferred LIMIT 1"
    ]
    assert store.state()["cursor:x"] == "3"


def test_a_newer_version_on_a_later_page_set_aside_replaces_the_older(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore
) -> None:
    """Two pages that are not the last both carry the room: the newer replaces the older aside
    (no clash on the key), and the last page restores it."""
    older = central_room(edge_hotel, "101", 5, condition="clean")
    newer = central_room(edge_hotel, "101", 8, condition="inspected")
    store.apply_pull([older], [], {}, final=False)
    store.apply_pull([newer], [], {}, final=False)
    assert set_aside(edge) == {newer.key: 8}
    assert store.apply_pull([], [], {}) == 1
    assert condition(edge_hotel, "101") == "inspected"


def test_every_step_holds_when_its_keys_come_in_many_chunks(
    edge_hotel: Hotel, edge: Yadori, store: EdgeSyncStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue's and the restore's statements take their ids 500 at a time: cut to 2, so a
    few rooms and mutations cross several chunks, each with its own ``?`` marks."""
    chunked = sql.chunks
    monkeypatch.setattr(edge_sync, "chunks", lambda keys, size=2: chunked(keys, size))
    monkeypatch.setattr(edge_queue, "chunks", lambda keys, size=2: chunked(keys, size))
    monkeypatch.setattr(aggregates, "chunks", lambda keys, size=2: chunked(keys, size))
    names = ["101", "102", "103", "104", "201"]
    for name in names:
        edge_hotel.run(
            c.SetRoomCondition(room_id=edge_hotel.rooms[name], condition=Condition.CLEAN)
        )
    ids = [p.id for p in store.pending(1_000)]
    assert len(ids) == len(names)
    store.mark_sent(ids)
    assert not store.has_unsent()
    theirs = [
        central_room(edge_hotel, name, 20 + n, condition="inspected")
        for n, name in enumerate(names)
    ]
    assert store.apply_pull(theirs, [], {}) == 0  # all held: each one's change is unanswered
    assert len(set_aside(edge)) == len(names)
    answered = [PulledResult(i, "applied", "", ()) for i in ids]
    assert store.apply_pull([], answered, {}) == len(names)
    assert {condition(edge_hotel, name) for name in names} == {"inspected"}
    assert store.pending_count() == 0
    assert set_aside(edge) == {}
