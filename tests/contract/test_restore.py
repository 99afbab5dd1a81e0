"""Restoring pulled documents writes only what differs, and always ends at the documents.

On SQLite (the edge, where pulls are applied) and PostgreSQL.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.hotel import Hotel, build_hotel
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.storage import aggregates
from yadori.storage.aggregates import Doc

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def folio(hotel: Hotel) -> str:
    """A folio with five charges."""
    folio_id = hotel.folio_id(hotel.book())
    for amount in (100, 200, 300, 400, 500):
        hotel.run(
            c.PostCharge(
                folio_id=folio_id,
                line_id=new_id(),
                category="misc",
                description="x",
                amount=amount,
            )
        )
    return folio_id


def snapshot(hotel: Hotel, key: str) -> Doc | None:
    """The aggregate's document as its tables hold it."""
    with hotel.node.engine.connect() as conn:
        return aggregates.snapshot(conn, key)


def restore(hotel: Hotel, key: str, doc: Doc | None) -> list[str]:
    """Restore one document in a transaction; the statements it ran."""
    statements: list[str] = []
    with hotel.node.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        else:
            conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")
        sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
        aggregates.restore_many(conn, {key: doc})
    return statements


def target(current: Doc, seed: int, *, keep: float, new: int) -> Doc:
    """Another valid document of the folio: some lines kept, some new, positions shuffled."""
    rng = random.Random(seed)
    doc = copy.deepcopy(current)
    lines = [line for line in doc["folio_lines"] if rng.random() < keep]
    for _ in range(new):
        extra = dict(rng.choice(current["folio_lines"]))
        extra["id"], extra["amount"] = new_id(), rng.randrange(1, 9_999)
        lines.append(extra)
    positions = list(range(1, len(lines) + 1))
    rng.shuffle(positions)
    for line, position in zip(lines, positions, strict=True):
        line["position"] = position
    doc["folio_lines"] = sorted(lines, key=lambda line: str(line["id"]))
    return doc


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.tuples(st.integers(0, 10**6), st.floats(0, 1), st.integers(0, 3), st.booleans()))
def test_restoring_ends_at_the_document(
    hotel: Hotel, folio: str, change: tuple[int, float, int, bool]
) -> None:
    """Lines dropped, added, moved to other positions, or the whole aggregate gone."""
    seed, keep, new, tombstone = change
    key = f"folio:{folio}"
    current = snapshot(hotel, key)
    assert current is not None
    wanted = None if tombstone else target(current, seed, keep=keep, new=new)
    restore(hotel, key, wanted)
    assert snapshot(hotel, key) == wanted
    restore(hotel, key, current)  # and back, for the next example
    assert snapshot(hotel, key) == current


def test_restoring_what_the_tables_hold_writes_nothing(hotel: Hotel, folio: str) -> None:
    """An edge pulling back its own changes only reads."""
    key = f"folio:{folio}"
    statements = restore(hotel, key, snapshot(hotel, key))
    assert statements
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)


def test_every_kind_restored_from_its_own_document_writes_nothing(hotel: Hotel) -> None:
    """Dates, UTC times, Decimals and flags compare as stored: a stay checked in with its
    registry and room-nights, its folio, its room, the rate plan and the property all only
    read."""
    stay = hotel.check_in(hotel.book(room="101", nights=2), "101")
    folio_id = hotel.folio_id(stay)
    hotel.run(
        c.PostCharge(
            folio_id=folio_id, line_id=new_id(), category="misc", description="x", amount=1
        )
    )
    keys = [
        f"reservation:{stay.id}",
        f"folio:{folio_id}",
        f"room:{hotel.rooms['101']}",
        f"rate_plan:{hotel.plan}",
        f"property:{hotel.property_id}",
        f"room_type:{hotel.std}",
    ]
    docs = {key: snapshot(hotel, key) for key in keys}
    reservation = docs[keys[0]]
    assert reservation is not None
    assert reservation["registry_entries"]
    assert reservation["room_nights"]
    for key, doc in docs.items():
        assert doc is not None
        statements = restore(hotel, key, doc)
        assert all(s.lstrip().upper().startswith("SELECT") for s in statements), key
        assert snapshot(hotel, key) == doc


def test_a_document_without_a_nullable_column_compares_it_as_null(edge_hotel: Hotel) -> None:
    """At the edge (where pulls are applied), a document that lacks a nullable column (from a
    central of an older schema) restores with that column NULL: a folio without its override
    columns, which the table holds as NULL, only reads; with an override stored, the override
    is cleared."""
    hotel = edge_hotel
    key = f"folio:{hotel.folio_id(hotel.book())}"
    current = snapshot(hotel, key)
    assert current is not None
    older = copy.deepcopy(current)
    for row in older["folios"]:
        del row["override_manager_id"], row["override_reason"]
    statements = restore(hotel, key, older)
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert snapshot(hotel, key) == current
    overridden = copy.deepcopy(current)
    overridden["folios"][0]["override_manager_id"] = "mgr-1"
    overridden["folios"][0]["override_reason"] = "comped"
    restore(hotel, key, overridden)
    assert snapshot(hotel, key) == overridden
    restore(hotel, key, older)
    assert snapshot(hotel, key) == current


def test_a_rate_given_with_trailing_zeros_restores_from_its_document_without_a_write(
    edge: Yadori,
) -> None:
    """A service-charge rate entered as 0.10 is the rate 0.1: the edge stores it as the feed's
    document writes it, so pulling the property back only reads, and the text stored at every
    node is the same."""
    hotel = build_hotel(edge, service_charge="0.10")
    key = f"property:{hotel.property_id}"
    doc = snapshot(hotel, key)
    assert doc is not None
    assert doc["properties"][0]["service_charge_rate"] == "0.1"
    statements = restore(hotel, key, doc)
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)
    with edge.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT service_charge_rate FROM properties WHERE id = ?", (hotel.property_id,)
        ).scalar()
    assert stored == "0.1"


def test_a_page_mixing_documents_with_and_without_a_column_restores_both(
    edge_hotel: Hotel,
) -> None:
    """Rows of one table are inserted together: a document lacking the override columns (an
    older central) and one carrying an override, in one page, both end as their documents say
    (the first does not drop the column from the second, nor fail beside it)."""
    hotel = edge_hotel
    keys = [f"folio:{hotel.folio_id(hotel.book(room=room))}" for room in ("101", "102")]
    older, overridden = (snapshot(hotel, key) for key in keys)
    assert older is not None
    assert overridden is not None
    for row in older["folios"]:
        del row["override_manager_id"], row["override_reason"]
        row["status"] = "settled"
    overridden["folios"][0].update(override_manager_id="mgr-1", override_reason="comped")
    with hotel.node.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        aggregates.restore_many(conn, dict(zip(keys, (older, overridden), strict=True)))
    first = snapshot(hotel, keys[0])
    assert first is not None
    assert first["folios"][0]["status"] == "settled"
    assert first["folios"][0]["override_manager_id"] is None
    assert snapshot(hotel, keys[1]) == overridden
