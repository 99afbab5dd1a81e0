"""Central's sync ledger: what was applied, with what result, and the change feed.

Which mutations of which origin were applied, with what result,
the chain of each origin's batches, and the change feed.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from yadori.services.sync_ports import LedgerEntry
from yadori.storage import aggregates
from yadori.storage.bulk import insert_rows, upsert_rows
from yadori.storage.grown_folios import CACHE, Growth, grown_lines, kept_as
from yadori.storage.repositories.folios import LAST_POSITION
from yadori.storage.repositories.outbox import advance_counter
from yadori.storage.sql import among
from yadori.storage.tables import (
    folios,
    sync_applied,
    sync_dirty,
    sync_feed,
    sync_origins,
)
from yadori.sync import canonical
from yadori.sync.canonical import JSON

FEED_SCOPE = "node"
# Set (to "1") by the test suite: every document published from rows not read whole (held by
# the unit of work, or a folio grown by its new lines) is compared, byte for byte, with the
# snapshot read from the tables, and a difference raises (decision 0050).
CHECK_HELD = "YADORI_CHECK_HELD_DOCS"

Held = tuple[Mapping[tuple[str, str], list[dict[str, JSON]]], Mapping[str, Growth]]
"""Rows a unit of work knows of some aggregates, by (table name, aggregate id), and how the
folios it holds grew: what publishing need not read again."""

# Statements built once (see rooms.py).
_FEED_UPSERT = {
    name: dialect.insert(sync_feed).on_conflict_do_update(
        index_elements=[sync_feed.c.key],
        set_={
            column: getattr(dialect.insert(sync_feed).excluded, column)
            for column in ("property_id", "version", "doc", "crc32")
        },
    )
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", pg_dialect))
}
# A mark that is already there is written again (not skipped): the write locks it, so a pull
# publishing the property waits for this transaction before it takes the mark (see
# publish_marked).
_MARK = {
    name: dialect.insert(sync_dirty).on_conflict_do_update(
        index_elements=[sync_dirty.c.key],
        set_={"property_id": dialect.insert(sync_dirty).excluded.property_id},
    )
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", pg_dialect))
}
_TAKE_MARKS = sa.delete(sync_dirty).where(sync_dirty.c.property_id == sa.bindparam("pid"))
PUBLISH_SECONDS = 2.0  # one publish_marked publishes for about this long; the rest stays marked
FIRST_CHUNK = 256  # the weight of its first chunk (an aggregate weighs one); then twice that …
MAX_CHUNK = 1_024  # … up to this (the last chunk begun within the time may take as long again)
LINES_PER_UNIT = 25  # a folio weighs one more per this many of its lines
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
        self._held = held
        self._to_keep: list[tuple[str, int, list[dict[str, JSON]]]] = []  # kept at commit

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
        """Write the current state of each aggregate to the feed, with a new version each.

        One query per table for all the aggregates, one counter advance for their versions
        and one batched upsert: a replayed batch touches hundreds of aggregates. The rows the
        unit of work holds (``held``: rooms and folios it locked and wrote) are not read again.
        """
        wanted = sorted(k for k in set(keys) if aggregates.carried(k))
        if wanted:
            self._publish(wanted, self._held(wanted) if self._held is not None else ({}, {}))

    def _publish(self, wanted: list[str], held: Held) -> None:
        """``publish`` of carried aggregates, with what the unit holds of them (or more)."""
        known, growth = held
        prefix = f"{self._property_id}/folio:"
        folio_ids = [k.partition(":")[2] for k in wanted if k.startswith("folio:")]
        lines = grown_lines(self._conn, prefix, folio_ids, growth)
        known = {
            **known,
            **{("folio_lines", folio_id): found for folio_id, found in lines.items()},
        }
        docs = aggregates.snapshot_many(self._conn, wanted, known)
        if known and os.environ.get(CHECK_HELD) == "1":
            _check(self._conn, docs)
        last = advance_counter(self._conn, FEED_SCOPE, "feed_version", len(wanted))
        first = last - len(wanted) + 1
        rows = []
        kept: list[tuple[str, int, list[dict[str, JSON]]]] = []
        for n, key in enumerate(wanted):
            doc, feed_key = docs[key], f"{self._property_id}/{key}"
            data = canonical.encode_plain(doc)  # b"null" for a tombstone
            rows.append(
                {
                    "key": feed_key,
                    "property_id": self._property_id,
                    "version": first + n,
                    "doc": None if doc is None else data.decode(),
                    "crc32": zlib.crc32(data),
                }
            )
            if key.startswith("folio:") and doc is not None:
                kept.append((kept_as(self._conn, feed_key), first + n, doc["folio_lines"]))
        upsert_rows(self._conn, _FEED_UPSERT[self._conn.dialect.name], sync_feed, rows, key=["key"])
        self._to_keep.extend(kept)

    def mark(self, keys: Iterable[str]) -> None:
        """Mark aggregates changed, to be published by the next pull of the property.

        A replayed batch marks what it changed instead of publishing it: a recovery's batches
        change the same folios and rooms over and over, and each is then published once.
        """
        wanted = sorted(k for k in set(keys) if aggregates.carried(k))
        if wanted:
            pid = self._property_id
            rows = [{"key": f"{pid}/{key}", "property_id": pid} for key in wanted]
            upsert_rows(self._conn, _MARK[self._conn.dialect.name], sync_dirty, rows, key=["key"])

    def publish_marked(self, also: Iterable[str] = ()) -> int:
        """Publish the marked aggregates and ``also`` these, once each; how many were marked.

        The marks are taken (deleted) before anything is read: a batch that marked one and has
        not committed holds it locked, so this waits for that batch and then reads its changes;
        a batch that marks one after this took it waits for this transaction and leaves a new
        mark for the next pull. No change is left unpublished without a mark.

        One call publishes for about ``PUBLISH_SECONDS``, in growing chunks (the first always):
        what is left is marked again, for the next pull (which says ``more``). A queue of a
        million drained in one push leaves folios of thousands of lines each to publish, more
        than a request may take before the edge gives up on it.
        """
        taken = self._conn.execute(
            _TAKE_MARKS.returning(sync_dirty.c.key), {"pid": self._property_id}
        )
        keys = sorted(taken.scalars())
        named = {key.partition("/")[2] for key in keys} | set(also)
        wanted = sorted(k for k in named if aggregates.carried(k))
        if not wanted:
            return len(keys)
        deadline = time.monotonic() + PUBLISH_SECONDS
        held = self._held(wanted) if self._held is not None else ({}, {})
        chunks = self._chunked(wanted, held[1])
        for n, chunk in enumerate(chunks):
            if n and time.monotonic() >= deadline:
                self.mark([key for rest in chunks[n:] for key in rest])
                break
            self._publish(chunk, held)
        return len(keys)

    def _chunked(self, wanted: list[str], growth: Mapping[str, Growth]) -> list[list[str]]:
        """``wanted`` in chunks of growing weight: FIRST_CHUNK, twice that, … at most MAX_CHUNK.

        An aggregate weighs one, a folio one more per LINES_PER_UNIT of its lines (its document
        carries them all): the folios of a long stay go a few to a chunk.
        """
        folio_ids = [k.partition(":")[2] for k in wanted if k.startswith("folio:")]
        lines = self._folio_lines(folio_ids, growth)
        chunks: list[list[str]] = []
        chunk: list[str] = []
        weight, room = 0, FIRST_CHUNK
        for key in wanted:
            kind, _, ident = key.partition(":")
            heavy = 1 + (lines.get(ident, 0) if kind == "folio" else 0) // LINES_PER_UNIT
            if chunk and weight + heavy > room:
                chunks.append(chunk)
                chunk, weight, room = [], 0, min(2 * room, MAX_CHUNK)
            chunk.append(key)
            weight += heavy
        return [*chunks, chunk] if chunk else chunks

    def _folio_lines(self, folio_ids: list[str], growth: Mapping[str, Growth]) -> dict[str, int]:
        """How many lines these folios have.

        Known for those this unit holds (``growth``, decision 0050); the last position (an
        index probe each) for the others.
        """
        asked = set(folio_ids)
        lines = {f: g.count + len(g.added) for f, g in growth.items() if f in asked}
        others = [f for f in folio_ids if f not in lines]
        for n in range(0, len(others), 500):
            chunk = others[n : n + 500]
            # a folio's last position is its line count (positions run 1, 2, …)
            query = sa.select(folios.c.id, LAST_POSITION).where(
                among(folios.c.id, chunk, self._conn.dialect)
            )
            lines.update((folio_id, last or 0) for folio_id, last in self._conn.execute(query))
        return lines

    def advance_chain(
        self, origin: str, number: int, crc: int, prev_crc: int, at: datetime
    ) -> bool:
        """Place a batch in its origin's chain, in this transaction (see ``advance_chain``)."""
        return advance_chain(self._conn, origin, number, crc, prev_crc, at)

    def committed(self) -> None:
        """The transaction committed: keep its folio documents for growing them next time."""
        kept, self._to_keep = self._to_keep, []
        CACHE.put(kept)

    def forget(self) -> None:
        """A savepoint was rolled back: keep none of the documents published so far."""
        self._to_keep.clear()


class HeldDocumentDiffers(AssertionError):
    """A document built from a unit of work's rows is not its snapshot (a bug; tests only)."""


def _check(conn: sa.Connection, docs: Mapping[str, aggregates.Doc | None]) -> None:
    """Raise unless each document's bytes are those of its snapshot (True and 1 are not)."""
    read = aggregates.snapshot_many(conn, list(docs))
    encode = canonical.encode_plain
    differ = sorted(key for key, doc in docs.items() if encode(read[key]) != encode(doc))
    if differ:
        key = differ[0]
        published, snapshot = encode(docs[key]).decode(), encode(read[key]).decode()
        at = _first_difference(published, snapshot)
        raise HeldDocumentDiffers(
            f"{len(differ)} published documents are not their snapshots; {key} at byte {at}: "
            f"{published[max(0, at - 80) : at + 80]!r} != {snapshot[max(0, at - 80) : at + 80]!r}"
        )


def _first_difference(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


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


def has_marks(conn: sa.Connection, property_id: str) -> bool:
    """Whether any of the property's aggregates wait to be published.

    A plain read: a mark not yet committed is not seen, and the batch that made it is not
    part of this pull.
    """
    query = sa.select(sync_dirty.c.key).where(sync_dirty.c.property_id == property_id).limit(1)
    return conn.execute(query).first() is not None


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
