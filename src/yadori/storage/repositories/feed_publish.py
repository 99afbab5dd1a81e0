"""Central's change feed, written: each changed aggregate's document, with a new version.

A unit of work publishes what it changed, or marks it for the next pull of the property to
publish (once however often a replay changed it); a pull publishes the marks in chunks, for
about ``PUBLISH_SECONDS``. The folio documents published are kept for growing them next time.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from yadori.storage import aggregates
from yadori.storage.bulk import upsert_rows
from yadori.storage.grown_folios import CACHE, Growth, grown_lines, kept_as
from yadori.storage.repositories.folios import LAST_POSITION
from yadori.storage.repositories.outbox import advance_counter
from yadori.storage.sql import among
from yadori.storage.tables import folios, sync_dirty, sync_feed
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


class FeedPublisher:
    """The change feed's writes on one connection (for the ledger of central's unit of work)."""

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

    def mark_asked(self, keys: Iterable[str]) -> int:
        """Mark aggregates an edge names, those it may name (``aggregates.claimable``); how many.

        What a mutation central rejected, or an edge set aside, touched: the edge takes
        central's state of them back at its next pull (decisions 0037, 0064).
        """
        wanted = aggregates.claimable(self._conn, self._property_id, keys)
        self.mark(wanted)
        return len(wanted)

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


def has_marks(conn: sa.Connection, property_id: str) -> bool:
    """Whether any of the property's aggregates wait to be published.

    A plain read: a mark not yet committed is not seen, and the batch that made it is not
    part of this pull.
    """
    query = sa.select(sync_dirty.c.key).where(sync_dirty.c.property_id == property_id).limit(1)
    return conn.execute(query).first() is not None
