"""Central's sync ledger: what was applied, with what result, and the change feed.

Which mutations of which origin were applied, with what result,
the chain of each origin's batches, and the change feed (written by feed_publish.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from yadori.services.sync_ports import LedgerEntry
from yadori.storage.bulk import insert_rows
from yadori.storage.repositories.feed_publish import FeedPublisher, Held
from yadori.storage.repositories.outbox import advance_counter
from yadori.storage.sql import among
from yadori.storage.tables import sync_applied, sync_feed, sync_origins
from yadori.sync import canonical

# the columns of a LedgerEntry, in its order (read as plain tuples: a pull reads thousands)
_ENTRY = (
    sync_applied.c.origin,
    sync_applied.c.seq,
    sync_applied.c.mutation_id,
    sync_applied.c.result,
    sync_applied.c.reason,
    sync_applied.c.tickets,
)


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One aggregate's latest state in the change feed."""

    key: str
    version: int
    doc: str | None
    crc32: int


class SqlLedger:
    """The ledger on one connection (central's unit of work)."""

    def __init__(
        self,
        conn: sa.Connection,
        property_id: str,
        held: Callable[[list[str]], Held] | None = None,
    ) -> None:
        self._conn = conn
        self._property_id = property_id
        self._feed = FeedPublisher(conn, property_id, held)  # see feed_publish.py

    def result_of(self, origin: str, seq: int) -> LedgerEntry | None:
        """The recorded result of (origin, seq), if it was applied before."""
        row = self._conn.execute(
            sa.select(*_ENTRY).where(sync_applied.c.origin == origin, sync_applied.c.seq == seq)
        ).first()
        return None if row is None else _entry(*row)

    def results_by_id(self, mutation_ids: list[str]) -> dict[str, LedgerEntry]:
        """The recorded results of those mutations, by id, whatever seq they were applied at.

        A mutation numbered again after a reused seq (decision 0059); on the unique id index.
        """
        if not mutation_ids:
            return {}
        rows = self._conn.execute(
            sa.select(*_ENTRY).where(
                among(sync_applied.c.mutation_id, mutation_ids, self._conn.dialect)
            )
        )
        entries = (_entry(*row) for row in rows)
        return {entry.mutation_id: entry for entry in entries}

    def results_of(self, origin: str, seqs: list[int]) -> dict[int, LedgerEntry]:
        """The recorded results of those of an origin's mutations applied before."""
        if not seqs:
            return {}
        # Bounded by the lowest and highest seq too: planned on the primary key however stale
        # the statistics (a table analysed small and grown by a million results since was
        # read whole through the (origin, result_no) index, and filtered: 350 ms a batch).
        rows = self._conn.execute(
            sa.select(*_ENTRY).where(
                sync_applied.c.origin == origin,
                sync_applied.c.seq.between(min(seqs), max(seqs)),
                among(sync_applied.c.seq, seqs, self._conn.dialect),
            )
        )
        entries = (_entry(*row) for row in rows)
        return {entry.seq: entry for entry in entries}

    def record_many(self, entries: list[LedgerEntry], names: list[str], at: datetime) -> None:
        """Record results, in the same transaction as their effects, in one statement."""
        if not entries:
            return
        last = advance_counter(self._conn, entries[0].origin, "result_no", len(entries))
        first = last - len(entries) + 1
        insert_rows(
            self._conn,
            sync_applied,
            [
                {
                    "origin": e.origin,
                    "seq": e.seq,
                    "mutation_id": e.mutation_id,
                    "property_id": self._property_id,
                    "name": name,
                    "result": e.result,
                    "reason": e.reason,
                    "tickets": canonical.encode_plain(list(e.tickets)).decode(),
                    "applied_at": at,
                    "result_no": first + n,
                }
                for n, (e, name) in enumerate(zip(entries, names, strict=True))
            ],
        )

    def publish(self, keys: Iterable[str]) -> None:
        """Write the current state of each aggregate to the feed, with a new version each."""
        self._feed.publish(keys)

    def mark(self, keys: Iterable[str]) -> None:
        """Mark aggregates changed, to be published by the next pull of the property."""
        self._feed.mark(keys)

    def mark_asked(self, keys: Iterable[str]) -> int:
        """Mark aggregates an edge names, those of this property or held nowhere; how many."""
        return self._feed.mark_asked(keys)

    def publish_marked(self, also: Iterable[str] = ()) -> int:
        """Publish the marked aggregates and ``also`` these, once each; how many were marked."""
        return self._feed.publish_marked(also)

    def advance_chain(
        self, origin: str, number: int, crc: int, prev_crc: int, at: datetime
    ) -> bool:
        """Place a batch in its origin's chain, in this transaction (see ``advance_chain``)."""
        return advance_chain(self._conn, origin, number, crc, prev_crc, at)

    def committed(self) -> None:
        """The transaction committed: keep its folio documents for growing them next time."""
        self._feed.committed()

    def forget(self) -> None:
        """A savepoint was rolled back: keep none of the documents published so far."""
        self._feed.forget()


def results_after(
    conn: sa.Connection, origin: str, result_no: int, limit: int
) -> list[tuple[int, LedgerEntry]]:
    """An origin's results recorded after ``result_no``, in the order they were recorded.

    Not by seq: priority lanes apply a later seq before an earlier one.

    Result numbers have no gaps (``record_many`` takes them from the origin's counter in the
    transaction that records them), so the next ``limit`` results are those numbered up to
    ``result_no + limit``. Bounded both ways, the lookup reads no more rows than it returns,
    however stale the statistics: bounded below only, and planned with statistics from when
    the table was empty, it read every later result and sorted them for the first ``limit``
    (a page of 2,000 took 270 ms with a million results waiting, so pulling a drain's results
    grew with the square of the backlog; see test_query_plans.py).
    """
    rows = conn.execute(
        sa.select(sync_applied.c.result_no, *_ENTRY)
        .where(
            sync_applied.c.origin == origin,
            sync_applied.c.result_no.between(result_no + 1, result_no + limit),
        )
        .order_by(sync_applied.c.result_no)
        .limit(limit)
    )
    return [(number, _entry(*entry)) for number, *entry in rows]


def feed_since(
    conn: sa.Connection, property_id: str, since: int, limit: int, max_bytes: int
) -> tuple[list[FeedRow], bool]:
    """The property's aggregates changed after version ``since``, oldest first; whether more.

    At most ``limit`` of them, and none past the one whose documents before it already hold
    ``max_bytes`` (so always one): a folio of a long stay carries every line, and a page
    counted only in documents could grow past what a request may take. The sizes come from
    the rows (PostgreSQL's ``octet_length`` reads a stored document's size without unpacking
    it); a document past the budget is not read, only its version.
    """
    page = (
        sa.select(sync_feed.c.key, sync_feed.c.version, sync_feed.c.doc, sync_feed.c.crc32)
        .where(sync_feed.c.property_id == property_id, sync_feed.c.version > since)
        .order_by(sync_feed.c.version)
        .limit(limit)
        .subquery()
    )
    size = sa.func.coalesce(_SIZE[conn.dialect.name](page.c.doc), 0)
    sized = sa.select(
        page, (sa.func.sum(size).over(order_by=page.c.version) - size).label("before")
    ).subquery()
    budget = sa.literal(max_bytes, sa.BigInteger)
    query = sa.select(
        sized.c.key,
        sized.c.version,
        # the first document always (its page holds one at least), then those within budget
        sa.case(
            (sa.or_(sized.c.before < budget, sized.c.before == 0), sized.c.doc), else_=None
        ).label("doc"),
        sized.c.crc32,
        sized.c.before,
    ).order_by(sized.c.version)
    found: list[FeedRow] = []
    rows = conn.execute(query).all()
    for r in rows:
        if found and r.before >= max_bytes:
            return found, True
        found.append(FeedRow(r.key.partition("/")[2], r.version, r.doc, r.crc32))
    return found, len(rows) == limit


# a document's size in bytes: PostgreSQL's from the stored value's header; SQLite's in characters
_SIZE: dict[str, Callable[[sa.ColumnElement[Any]], sa.ColumnElement[int]]] = {
    "postgresql": sa.func.octet_length,
    "sqlite": sa.func.length,
}


def last_seq(conn: sa.Connection, origin: str) -> int:
    """The highest seq of an origin's mutations central recorded (0 if none)."""
    query = sa.select(sa.func.max(sync_applied.c.seq)).where(sync_applied.c.origin == origin)
    return int(conn.execute(query).scalar() or 0)


def chain(conn: sa.Connection, origin: str) -> tuple[int, int, int]:
    """An origin's last batch CRC, its highest batch number, and the chain breaks seen."""
    row = conn.execute(sa.select(sync_origins).where(sync_origins.c.origin == origin)).first()
    return (0, 0, 0) if row is None else (row.last_batch_crc, row.batches, row.chain_breaks)


def advance_chain(  # noqa: PLR0917 - the batch's place in its origin's chain
    conn: sa.Connection, origin: str, number: int, crc: int, prev_crc: int, at: datetime
) -> bool:
    """Place a batch in its origin's chain; return False when the chain was broken.

    A batch numbered at or below the last one is a resend (its answer was lost): not a break.
    A resend of the last number may have been rebuilt with more in it (the edge crashed or
    timed out before storing the answer), and the edge chains its next batch from that
    rebuild: its CRC becomes the last one. A new batch whose previous CRC is not the last
    batch's means one was lost or reordered.
    """
    row = conn.execute(sa.select(sync_origins).where(sync_origins.c.origin == origin)).first()
    if row is not None and number <= row.batches:
        if number == row.batches and crc != row.last_batch_crc:
            conn.execute(  # only while it is still the last number (no lock is held here)
                sa.update(sync_origins)
                .where(sync_origins.c.origin == origin, sync_origins.c.batches == number)
                .values(last_batch_crc=crc, last_seen_at=at)
            )
        return True
    broke = row is not None and prev_crc != row.last_batch_crc
    values = {"last_batch_crc": crc, "batches": number, "last_seen_at": at}
    if row is None:
        conn.execute(sa.insert(sync_origins).values(origin=origin, chain_breaks=0, **values))
    else:
        values["chain_breaks"] = row.chain_breaks + int(broke)
        conn.execute(sa.update(sync_origins).where(sync_origins.c.origin == origin).values(values))
    return not broke


def _entry(  # noqa: PLR0917 - one row's columns, in _ENTRY's order
    origin: str, seq: int, mutation_id: str, result: str, reason: str, tickets: str
) -> LedgerEntry:
    found = () if tickets == "[]" else canonical.decode(tickets)
    assert isinstance(found, (list, tuple))  # noqa: S101 - written by record_many
    return LedgerEntry(origin, seq, mutation_id, result, reason, tuple(map(str, found)))
