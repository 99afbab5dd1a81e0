"""The edge's queue queries probe the right index, whatever the outbox holds.

SQLite's planner has no statistics on the edge; for ``id IN (…) AND state = 'pending'`` it chose
the (state, priority, seq) index and read every pending row: invisible with a short queue, 0.35 s
a query with a million pending after a long outage, the drain's whole cost. This records every
statement the store runs on the outbox while it chooses, marks and acknowledges batches, and asks
SQLite for each one's plan: no statement may scan the table, and lookups by id must use the id
index. Plans do not depend on the machine's speed, so this is a test, not a benchmark.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.sync.batching import choose_batch
from yadori.sync.protocol import PulledResult


@pytest.fixture
def statements(edge: Yadori) -> Iterator[list[tuple[str, object]]]:
    """Every statement run on the edge's engine meanwhile, with its parameters."""
    seen: list[tuple[str, object]] = []

    def record(*args: object) -> None:  # conn, cursor, statement, parameters, context, many
        _, _, sql, params, _, many = args
        seen.append((str(sql), params[0] if many else params))  # type: ignore[index]

    sa.event.listen(edge.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(edge.engine, "before_cursor_execute", record)


def plan(edge: Yadori, sql: str, params: object) -> list[str]:
    """SQLite's query plan of one statement, as its detail lines."""
    database = edge.engine.url.database
    assert database is not None
    with sqlite3.connect(database) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params or ())  # type: ignore[arg-type]
        return [str(r[3]) for r in rows]


def test_choosing_marking_and_acknowledging_never_scan_the_outbox(
    edge_hotel: Hotel,
    edge: Yadori,
    statements: list[tuple[str, object]],
) -> None:
    """A queue whose front has dependencies behind it (the front is cut to 3 to make it so)."""
    folio_id = edge_hotel.folio_id(edge_hotel.book())
    for amount in (1_000, 2_000, 3_000):
        edge_hotel.run(
            c.PostCharge(
                folio_id=folio_id, line_id=new_id(), category="misc", description="x", amount=amount
            )
        )
        edge_hotel.run(
            c.PostPayment(folio_id=folio_id, line_id=new_id(), method="cash", amount=amount)
        )
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    statements.clear()
    pending = store.pending(3)  # payments first: their charges and the booking come with them
    assert len(pending) > 3
    ids = [p.id for p in choose_batch(pending, 3)]
    store.items(ids)
    store.mark_sent(ids)
    store.apply_pull([], [PulledResult(i, "applied", "", ()) for i in ids], {})
    on_outbox = [(s, p) for s, p in statements if " outbox" in s and "outbox_heads" not in s]
    assert any(" IN (" in sql and "outbox.id" in sql for sql, _ in on_outbox)
    for sql, params in on_outbox:
        details = plan(edge, sql, params)
        assert not any(d.startswith("SCAN outbox") for d in details), (sql, details)
        if "outbox.id IN" in sql or "outbox.id = " in sql:
            assert any("autoindex_outbox_1 (id=?)" in d for d in details), (sql, details)


def test_marking_sent_stores_the_chain_state_in_the_same_commit(
    edge_hotel: Hotel, edge: Yadori, statements: list[tuple[str, object]]
) -> None:
    """The answered batch is marked sent and the batch chain's place stored in one transaction:
    a crash leaves both or neither (no batch marked sent under an older chain number)."""
    edge_hotel.book()
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    ids = [p.id for p in store.pending(1_000)]
    statements.clear()
    store.mark_sent(ids, {"batch_no": "7", "batch_crc": "123"})
    assert sum(1 for sql, _ in statements if sql.startswith("BEGIN")) == 1
    assert not store.has_unsent()
    assert store.state()["batch_no"] == "7"
    assert store.state()["batch_crc"] == "123"
