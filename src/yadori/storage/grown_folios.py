"""Folio documents grown by their new lines, instead of read whole again.

A folio's lines are append-only: at central nothing changes or deletes one, and each new line
takes the next position. So the document the change feed holds for a folio, plus the lines at
the positions after its last, is its document now. Publishing reads each long folio's new lines
only (by folio and position), not all of them again. A folio is grown only when the feed's
document and the table agree — the table holds exactly the document's lines and the new ones,
all new ones after the document's last position; any other folio is snapshotted whole.

A folio the publishing unit of work holds locked since it read its line count and last
position (``Growth``) is grown without asking the table: its lines are those it counted, which
must be the document's, and those it appended since (decision 0050).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from yadori.storage.aggregates import row_doc
from yadori.storage.sql import among
from yadori.storage.tables import folio_lines, sync_feed
from yadori.sync import canonical
from yadori.sync.canonical import JSON

Lines = list[dict[str, JSON]]

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Growth:
    """A folio held locked by a unit of work, as it saw it.

    Its lines' count and last position when it locked the folio, and the lines it appended
    since (as the document carries them).
    """

    count: int
    last: int
    added: Lines


def grown_lines(
    conn: sa.Connection,
    feed_prefix: str,
    folio_ids: Iterable[str],
    held: Mapping[str, Growth] | None = None,
) -> dict[str, Lines]:
    """Folio id → its lines as the document carries them (by id), for the folios it can grow.

    ``feed_prefix`` is the feed key of a folio without its id (``<property id>/folio:``).
    ``held``: folios the caller's unit of work holds locked, grown by what it saw and added.
    """
    wanted = sorted(set(folio_ids))
    grown: dict[str, Lines] = {}
    for n in range(0, len(wanted), CHUNK):
        grown.update(_grow(conn, feed_prefix, wanted[n : n + CHUNK], held or {}))
    return grown


class DocCache:
    """Lines of committed folio documents by feed key and version, kept by this process.

    A (key, version) pair names one committed document for good: versions come from the feed's
    counter and only committed ones are put here (a rolled-back version may be taken again).
    Saves reading and parsing a folio's whole document to grow it; a miss reads it.
    """

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._docs: OrderedDict[str, tuple[int, Lines]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: int) -> Lines | None:
        """The lines of that version of the document, if kept."""
        with self._lock:
            found = self._docs.get(key)
            if found is None or found[0] != version:
                return None
            self._docs.move_to_end(key)
            return found[1]

    def put(self, entries: Iterable[tuple[str, int, Lines]]) -> None:
        """Keep committed documents' lines (the oldest kept are dropped past the size)."""
        with self._lock:
            for key, version, lines in entries:
                self._docs[key] = (version, lines)
                self._docs.move_to_end(key)
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)


CACHE = DocCache()


def kept_as(conn: sa.Connection, feed_key: str) -> str:
    """The cache's key of a feed document, with its database's URL (one process, many DBs)."""
    return f"{conn.engine.url.render_as_string(hide_password=True)}|{feed_key}"


def _grow(
    conn: sa.Connection, feed_prefix: str, folio_ids: list[str], held: Mapping[str, Growth]
) -> dict[str, Lines]:
    grown: dict[str, Lines] = {}
    # A held folio that had no line when locked is what it added (no document to grow).
    for folio_id in folio_ids:
        growth = held.get(folio_id)
        if growth is not None and growth.count == 0:
            grown[folio_id] = sorted(growth.added, key=lambda line: str(line["id"]))
    previous = _previous(conn, feed_prefix, [f for f in folio_ids if f not in grown])
    for folio_id in [f for f in previous if f in held]:
        old, growth = previous[folio_id], held[folio_id]
        # Its lines when locked, counted, are the document's: then they are those and the added.
        # Otherwise (lines a batch before this one appended and only marked) the table tells.
        if growth.count == len(old) and growth.last == _last(old):
            added_last = max((_position(line) for line in growth.added), default=0)
            count_last = (growth.count + len(growth.added), max(growth.last, added_last))
            lines = _grown(old, growth.added, count_last)
            if lines is not None:
                grown[folio_id] = lines
                del previous[folio_id]
    if not previous:
        return grown
    counted = (
        sa.select(folio_lines.c.folio_id, sa.func.count(), sa.func.max(folio_lines.c.position))
        .where(among(folio_lines.c.folio_id, list(previous), conn.dialect))
        .group_by(folio_lines.c.folio_id)
    )
    counts = {f: (count, last) for f, count, last in conn.execute(counted)}
    # the lines after each document's last position: the new ones, if it grew by appending
    after = {f: _last(old) for f, old in previous.items() if counts.get(f, (0, 0))[1] > _last(old)}
    new: dict[str, Lines] = {}
    for row in _lines_after(conn, after):
        new.setdefault(row.folio_id, []).append(row_doc(folio_lines, row))
    for folio_id, old in previous.items():
        lines = _grown(old, new.get(folio_id, []), counts.get(folio_id, (0, 0)))
        if lines is not None:
            grown[folio_id] = lines
    return grown


# PostgreSQL joins the (folio, last position) pairs as arrays: a row-value IN list of hundreds
# of pairs is planned as a sequential scan with an OR per pair.
_COLUMNS = ", ".join(f'folio_lines."{c.name}"' for c in folio_lines.columns)
_AFTER_PG = (
    sa.text(
        f"SELECT {_COLUMNS} FROM folio_lines JOIN unnest(:folios, :lasts) AS after(f, p) "  # noqa: S608 - the table's own column names
        "ON folio_lines.folio_id = after.f AND folio_lines.position > after.p"
    )
    .bindparams(
        sa.bindparam("folios", type_=postgresql.ARRAY(sa.String)),
        sa.bindparam("lasts", type_=postgresql.ARRAY(sa.Integer)),
    )
    .columns(*folio_lines.columns)
)


def _lines_after(conn: sa.Connection, after: dict[str, int]) -> Iterable[sa.Row[Any]]:
    """The lines of each folio after its position, in any order."""
    if not after:
        return []
    if conn.dialect.name == "postgresql":
        return conn.execute(_AFTER_PG, {"folios": list(after), "lasts": list(after.values())})
    rows: list[sa.Row[Any]] = []
    ids = list(after)
    for n in range(0, len(ids), CHUNK):
        chunk = ids[n : n + CHUNK]
        lowest = min(after[f] for f in chunk)
        query = sa.select(folio_lines).where(
            among(folio_lines.c.folio_id, chunk, conn.dialect), folio_lines.c.position > lowest
        )
        rows.extend(r for r in conn.execute(query) if r.position > after[r.folio_id])
    return rows


def _previous(conn: sa.Connection, feed_prefix: str, folio_ids: list[str]) -> dict[str, Lines]:
    """Folio id → the lines of its current feed document (kept ones, or read)."""
    keys = [f"{feed_prefix}{f}" for f in folio_ids]
    versions = conn.execute(
        sa.select(sync_feed.c.key, sync_feed.c.version).where(
            among(sync_feed.c.key, keys, conn.dialect), sync_feed.c.doc.is_not(None)
        )
    ).all()
    previous: dict[str, Lines] = {}
    unread: list[str] = []
    for key, version in versions:
        kept = CACHE.get(kept_as(conn, key), version)
        if kept is None:
            unread.append(key)
        else:
            previous[key.removeprefix(feed_prefix)] = kept
    if unread:
        query = sa.select(sync_feed.c.key, sync_feed.c.doc).where(
            among(sync_feed.c.key, unread, conn.dialect)
        )
        for key, doc in conn.execute(query):
            lines = _lines(doc)
            if lines is not None:
                previous[key.removeprefix(feed_prefix)] = lines
    return previous


def _lines(doc: str | None) -> Lines | None:
    parsed = None if doc is None else canonical.decode(doc)
    old = parsed.get("folio_lines") if isinstance(parsed, dict) else None
    if not isinstance(old, list) or not all(isinstance(line, dict) for line in old):
        return None
    return old  # type: ignore[return-value] # dicts, checked above


def _grown(old: Lines, added: Lines, count_last: tuple[int, int]) -> Lines | None:
    """The document's lines and the added ones, or None when they are not the table's."""
    count, last = count_last
    old_last = _last(old)
    new_positions = [_position(line) for line in added]
    if count != len(old) + len(added) or any(p <= old_last for p in new_positions):
        return None
    if last != max([old_last, *new_positions]):
        return None
    if not added:
        return old
    lines: Lines = [*old, *added]
    return sorted(lines, key=lambda line: str(line["id"]))  # the table's key order


def _last(lines: Lines) -> int:
    return max((_position(line) for line in lines), default=0)


def _position(line: JSON) -> int:
    position = line.get("position") if isinstance(line, dict) else None
    return position if isinstance(position, int) else 0
