"""The edge's queue as the push reads it: the front by lane, batch items, damaged rows.

Read at the driver, as plain tuples (a recovery reads every queued mutation this way). A row
that no longer reads back as a mutation, or whose fields fail the CRC32 sealed with them, is
damaged at rest: named at once, for the worker to set aside (decision 0051).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

from yadori.storage.edge_records import EdgeRecords
from yadori.storage.repositories.outbox import MUTATION_COLUMNS, PENDING, mutation_from_values
from yadori.storage.sql import chunks, marks
from yadori.sync.batching import Pending
from yadori.sync.errors import DamagedQueue
from yadori.sync.mutation import Priority
from yadori.sync.protocol import BatchItem, StoredItem, encode_item

T = TypeVar("T")
# A batch item's columns: the mutation's, then its property and aggregate keys.
_ITEMS = "SELECT {} FROM outbox".format(  # noqa: S608 - the table's own column names
    ", ".join([*(str(c.name) for c in MUTATION_COLUMNS), "property_id", "aggregates"])
)
# The queue's front by lane (ix_outbox_state_priority), and pending mutations by id, as the
# driver takes them. ``+state``: SQLite's way to keep a term off the indexes. Without
# statistics its planner prefers ``state = ?`` on ix_outbox_state_priority to the unique id
# index for ``id IN (…)``, and so read every pending row (a million in a long outage: 0.35 s a
# query) to find a batch.
_PENDING_COLUMNS = "SELECT outbox.id, outbox.seq, outbox.priority, outbox.deps FROM outbox"
_FRONT = f"{_PENDING_COLUMNS} WHERE outbox.state = ? ORDER BY outbox.priority, outbox.seq LIMIT ?"
_PENDING_AMONG = _PENDING_COLUMNS + " WHERE outbox.id IN ({}) AND +outbox.state = ?"
_UNREADABLE = (ValueError, TypeError, KeyError, AssertionError)


class EdgeQueue(EdgeRecords):
    """The queue's reads for the push (the sync store extends it)."""

    def pending(self, window: int) -> list[Pending]:
        """The front of the queue by lane (``window`` mutations), and every dependency it needs.

        The worker looks at two batches' worth: with one batch in flight, what is left of the
        window still fills the next. Read at the driver, as plain tuples: the front is read for
        every batch (thousands of rows), and the statement's own row handling cost twice the
        read.
        """
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(_FRONT, (PENDING, window)).fetchall()
            found = {r[0]: _pending(r) for r in rows}
            missing = {d for p in found.values() for d in p.deps} - found.keys()
            while missing:
                new: dict[str, Pending] = {}
                for chunk in chunks(sorted(missing)):
                    sql = _PENDING_AMONG.format(marks(len(chunk)))
                    new.update(
                        (r[0], _pending(r))
                        for r in conn.exec_driver_sql(sql, (*chunk, PENDING)).fetchall()
                    )
                found.update(new)
                missing = {d for p in new.values() for d in p.deps} - found.keys()
        return list(found.values())

    def items(self, ids: list[str]) -> list[BatchItem]:
        """The batch items of those mutations, in the order given.

        Read at the driver, as plain tuples of the needed columns: a recovery reads every
        queued mutation once this way, and the statement's own handling of hundreds of
        parameters and rows cost as much as the rest of a batch's reading.
        """
        return self._read(ids, _item)

    def encoded_items(self, ids: list[str]) -> list[bytes]:
        """The batch items of those mutations, encoded (``encode_item``), in the order given.

        As ``items`` reads them, but each mutation's stored args and deps (canonical JSON
        text) are spliced into its bytes, not read into objects and written again.
        """
        return self._read(ids, lambda row: encode_item(_stored(row)))

    def _read(self, ids: list[str], read: Callable[[tuple[Any, ...]], T]) -> list[T]:
        by_id = self._rows(ids)
        try:
            return [read(by_id[i]) for i in ids]
        except _UNREADABLE as exc:
            # A row that no longer reads back: damaged at rest. Name every such row at once.
            damaged = [i for i in ids if _damaged(by_id.get(i))]
            if not damaged:
                raise
            raise DamagedQueue(damaged) from exc

    def _rows(self, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        by_id: dict[str, tuple[Any, ...]] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(ids):
                sql = f"{_ITEMS} WHERE id IN ({marks(len(chunk))})"
                rows = conn.exec_driver_sql(sql, tuple(chunk))
                by_id.update((row[0], tuple(row)) for row in rows)
        return by_id

    def damaged(self, ids: list[str]) -> list[str]:
        """Those of the queued mutations that are damaged at rest.

        Damaged: its row no longer reads back as a mutation, or its fields no longer match
        the CRC32 sealed with them when it was queued.
        """
        return [i for i, row in self._rows(ids).items() if _damaged(row)]


def unscoped(keys: Iterable[str]) -> tuple[str, ...]:
    """Stored aggregate keys (``<property>/folio:<id>``) as a batch carries them, unscoped."""
    return tuple(k.partition("/")[2] for k in keys)


def _item(row: tuple[Any, ...]) -> BatchItem:
    """A batch item from its ``_ITEMS`` row."""
    return BatchItem(
        row[-2],
        mutation_from_values(row[:-2]),
        unscoped(orjson.loads(row[-1])),
    )


def _stored(row: tuple[Any, ...]) -> StoredItem:
    """A batch item's stored form from its ``_ITEMS`` row, checked as far as ``_item`` reads it.

    What fails here also fails ``_damaged`` (its checksum cannot match), so the row is set
    aside; the property's id is not covered by the checksum, and not checked (as ``_item``).
    The text spliced is what ``outbox_row`` wrote (canonical); a row edited otherwise is sent as
    it reads, valid JSON, and central checks each mutation by its values. Args or deps that are
    not text (a blob written by some other tool) are read whole and encoded again, as before.
    """
    mutation_id, origin, seq, hlc, name, args, deps, priority, staff, token, crc = row[:-2]
    if type(args) is not str or type(deps) is not str:  # not as outbox_row writes them (a blob)
        return StoredItem.of(_item(row))  # read whole and encoded again, as before
    if not isinstance(orjson.loads(args), dict) or not isinstance(orjson.loads(deps), list):
        raise ValueError("its args or deps are not a JSON object and list")
    texts = (mutation_id, origin, hlc, name, staff, token)
    if not all(type(v) is str for v in texts) or type(seq) is not int or type(crc) is not int:
        raise TypeError("a field of the wrong type")
    keys = unscoped(orjson.loads(row[-1]))
    lane = int(Priority(priority))
    return StoredItem(
        row[-2], keys, mutation_id, origin, seq, hlc, name, args, deps, lane, staff, token, crc
    )


def _damaged(row: tuple[Any, ...] | None) -> bool:
    """Whether a queued mutation's row no longer reads back, or fails its CRC32."""
    if row is None:
        return False  # gone meanwhile (answered): nothing to set aside
    try:
        return not _item(row).mutation.checksum_ok()
    except _UNREADABLE:
        return True


def _pending(row: Any) -> Pending:
    """A front row (id, seq, priority, deps as JSON text) as batching sees it."""
    deps = () if row[3] == "[]" else tuple(orjson.loads(row[3]))
    return Pending(row[0], row[1], row[2], deps)
