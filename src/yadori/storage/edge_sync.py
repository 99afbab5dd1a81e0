"""The edge's side of the sync, in its SQLite: the queue to push, pulled state, status.

Pulled aggregates are applied in one transaction (foreign keys checked at commit, since the
feed's order is by version, not by parent). An aggregate that a still-pending local mutation
touches is not overwritten: its document is kept aside and applied once central's result for
that mutation has arrived (decision 0009). A mutation leaves the queue only when its result
has been pulled and applied.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa

from yadori.domain.ids import new_id
from yadori.storage import aggregates
from yadori.storage.edge_records import DAMAGED, EdgeRecords
from yadori.storage.edge_renumber import renumber
from yadori.storage.repositories.outbox import (
    DONE,
    MUTATION_COLUMNS,
    PENDING,
    SENT,
    mutation_from_values,
)
from yadori.storage.sql import marks
from yadori.storage.tables import (
    alerts,
    outbox,
    outbox_heads,
    sync_deferred,
    sync_state,
)
from yadori.storage.types import UTCDateTime
from yadori.sync import canonical
from yadori.sync.batching import Pending
from yadori.sync.errors import DamagedQueue, SyncError
from yadori.sync.mutation import Priority
from yadori.sync.protocol import BatchItem, PulledChange, PulledResult, StoredItem, encode_item
from yadori.sync.sync_ports import Renumbered, SetAside

T = TypeVar("T")
_ACK = "UPDATE outbox SET state = ?, result = ?, reason = ?, tickets = ?, acked_at = ? WHERE id = ?"
_ACKED_AT = UTCDateTime()
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
_MARK_SENT = "UPDATE outbox SET state = ? WHERE outbox.id IN ({}) AND +outbox.state = ?"
_SET_ASIDE = (
    "UPDATE outbox SET state = ?, result = 'rejected', reason = ?, tickets = '[]', acked_at = ?"
    " WHERE outbox.id IN ({}) AND +outbox.state IN (?, ?)"
)
_SET_STATE = (
    "INSERT INTO sync_state (name, value) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)
_ANY_DEFERRED = "SELECT 1 FROM sync_deferred LIMIT 1"
# The aggregates among some (``{}``: their marks) whose latest local mutation is unanswered.
_PENDING_ON = (
    "SELECT outbox_heads.key FROM outbox_heads JOIN outbox ON outbox_heads.mutation_id = outbox.id"
    " WHERE outbox_heads.key IN ({}) AND outbox.state IN (?, ?)"
)

# What reading back a queued row raises when its bytes changed at rest (bad JSON, a wrong type)
_UNREADABLE = (ValueError, TypeError, KeyError, AssertionError)


class CorruptChange(SyncError):
    """A pulled document whose CRC32 does not match: the pull is refused and retried."""


class EdgeSyncStore(EdgeRecords):
    """Reads and writes the edge's sync state (its records and the status: EdgeRecords)."""

    # --- push -----------------------------------------------------------------------------

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
                for chunk in _chunks(sorted(missing)):
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
            for chunk in _chunks(ids):
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

    def set_aside(self, ids: list[str]) -> SetAside:
        """Take damaged mutations out of the queue, ``rejected``, each with an alert.

        Central would refuse every batch that carries one, and so the whole queue behind it
        (DESIGN §11). Staff see the reason in the sync status; the operation is entered again.
        Only mutations still waiting are taken; what was taken, and the alerts, are returned.
        """
        at = self._now()
        reason = (
            f"{DAMAGED}: this edge's copy of it was damaged on its disk (it no longer reads "
            "back or matches its CRC32), so it was not sent; enter the operation again"
        )
        with self._engine.begin() as conn:
            waiting = sa.select(outbox.c.id).where(outbox.c.state.in_((PENDING, SENT)))
            taken = [
                i
                for chunk in _chunks(ids)
                for i in conn.execute(waiting.where(outbox.c.id.in_(chunk))).scalars()
            ]
            acked_at = _ACKED_AT.process_bind_param(at, conn.dialect)
            for chunk in _chunks(taken):
                sql = _SET_ASIDE.format(marks(len(chunk)))
                conn.exec_driver_sql(sql, (DONE, reason, acked_at, *chunk, PENDING, SENT))
            told = [
                {
                    "id": new_id(),
                    "at": at,
                    "kind": "outbox_damaged",
                    "message": f"queued mutation {i} was damaged at rest and set aside",
                }
                for i in taken
            ]
            if told:
                conn.execute(sa.insert(alerts), told)
        alerts_told = [{k: str(a[k]) for k in ("kind", "message")} for a in told]
        return SetAside(taken, reason, at, alerts_told)

    def unsent_beyond(self, n: int) -> bool:
        """Whether more than ``n`` mutations wait to be pushed (an index probe ``n`` deep)."""
        with self._engine.connect() as conn:
            query = (
                sa.select(outbox.c.seq)
                .where(outbox.c.state == PENDING)
                .order_by(outbox.c.priority, outbox.c.seq)
                .offset(n)
                .limit(1)
            )
            return conn.execute(query).first() is not None

    def mark_sent(self, ids: list[str], state: dict[str, str] | None = None) -> None:
        """Central answered for these: wait for their results in the next pull.

        ``state`` (the batch chain's place, say) is stored in the same transaction: one commit.
        """
        with self._engine.begin() as conn:
            _mark_sent(conn, ids)
            if state:
                self._set_state(conn, state)

    def renumber(self, ids: list[str], above: int) -> Renumbered:
        """Number waiting mutations again, after ``above``, central's highest seq (0059)."""
        return renumber(self._engine, self._now, ids, above, (PENDING, SENT))

    def has_sent(self) -> bool:
        """Whether central answered mutations whose results were not pulled yet.

        A cycle failed after their push. Cheap: one index probe.
        """
        with self._engine.connect() as conn:
            query = sa.select(outbox.c.seq).where(outbox.c.state == SENT).limit(1)
            return conn.execute(query).first() is not None

    def reset_sent(self) -> None:
        """Sent mutations whose result never came are sent again (central dedups them)."""
        with self._engine.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.state == SENT).values(state=PENDING))

    # --- pull -----------------------------------------------------------------------------

    def apply_pull(
        self,
        changes: list[PulledChange],
        results: list[PulledResult],
        state: dict[str, str],
        *,
        final: bool = True,
        sent: list[str] | None = None,
    ) -> int:
        """Apply a pulled page in one transaction; return how many aggregates changed.

        ``sent``: mutations central answered (the batch this page rode back with), marked sent
        in the same transaction, as ``mark_sent`` would (its state is in ``state``).

        A page that is not the last of a pull is only set aside (with its results and cursor):
        the feed is ordered by version, not by parent, so a child may come a page before its
        parent. The last page applies everything at once, foreign keys checked at its commit.
        """
        for change in changes:  # central sends the canonical text: its CRC is of these bytes
            text = "null" if change.doc is None else change.doc
            if zlib.crc32(text.encode()) != change.crc32:
                raise CorruptChange(f"{change.key} version {change.version} fails its CRC32")
        with self._engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            _mark_sent(conn, sent or [])
            # Usually nothing was set aside (a pull of one page): nothing then to replace or
            # to release.
            aside = conn.exec_driver_sql(_ANY_DEFERRED).first() is not None
            self._ack(conn, results)
            applied = self._take(conn, changes, hold=not final, aside=aside)
            if final and aside:
                applied += self._release_deferred(conn)
            self._set_state(conn, state)
        return applied

    def _ack(self, conn: sa.Connection, results: list[PulledResult]) -> None:
        """Store central's results on their mutations, which leave the queue.

        At the driver, with the values as the columns store them: a recovery's pull brings
        thousands of results a page, and the statement's own parameter handling cost twice
        the update itself.
        """
        if not results:
            return
        acked_at = _ACKED_AT.process_bind_param(self._now(), conn.dialect)
        conn.exec_driver_sql(
            _ACK,
            [
                (
                    DONE,
                    r.result,
                    r.reason,
                    canonical.encode(list(r.tickets)).decode() if r.tickets else "[]",
                    acked_at,
                    r.mutation_id,
                )
                for r in results
            ],
        )

    def _take(
        self, conn: sa.Connection, changes: list[PulledChange], *, hold: bool, aside: bool
    ) -> int:
        """Restore the page's aggregates, or set them aside; batched, a page is thousands.

        ``aside``: whether anything was set aside before (a newer version replaces it).
        """
        latest = {c.key: c for c in sorted(changes, key=lambda c: c.version)}
        if not latest:
            return 0
        keys = list(latest)
        held = set(keys) if hold else self._pending_on(conn, keys)
        for chunk in _chunks(keys) if aside else ():
            conn.execute(sa.delete(sync_deferred).where(sync_deferred.c.key.in_(chunk)))
        if held:
            conn.execute(
                sa.insert(sync_deferred),
                [
                    {"key": c.key, "version": c.version, "doc": c.doc, "crc32": c.crc32}
                    for c in latest.values()
                    if c.key in held
                ],
            )
        taken = {k: c.doc for k, c in latest.items() if k not in held}
        _restore(conn, taken)
        return len(taken)

    def _release_deferred(self, conn: sa.Connection) -> int:
        blocked = set(
            conn.execute(
                sa.select(sync_deferred.c.key)
                .join(outbox_heads, outbox_heads.c.key == sync_deferred.c.key)
                .join(outbox, outbox.c.id == outbox_heads.c.mutation_id)
                .where(outbox.c.state.in_([PENDING, SENT]))
            ).scalars()
        )
        released = {
            row.key: row.doc
            for row in conn.execute(sa.select(sync_deferred)).all()
            if row.key not in blocked
        }
        _restore(conn, released)
        conn.execute(sa.delete(sync_deferred).where(sync_deferred.c.key.not_in(blocked)))
        return len(released)

    @staticmethod
    def _pending_on(conn: sa.Connection, keys: list[str]) -> set[str]:
        """Those aggregates whose latest local mutation still waits for its result."""
        pending: set[str] = set()
        for chunk in _chunks(keys):
            sql = _PENDING_ON.format(marks(len(chunk)))
            pending.update(r[0] for r in conn.exec_driver_sql(sql, (*chunk, PENDING, SENT)))
        return pending

    # --- state, log, status ----------------------------------------------------------------

    def state(self) -> dict[str, str]:
        """Every stored sync value (cursors, batch chain, last successes)."""
        with self._engine.connect() as conn:
            return {r.name: r.value for r in conn.execute(sa.select(sync_state))}

    @staticmethod
    def _set_state(conn: sa.Connection, values: dict[str, str]) -> None:
        if values:
            conn.exec_driver_sql(_SET_STATE, list(values.items()))


def _restore(conn: sa.Connection, docs: dict[str, str | None]) -> None:
    aggregates.restore_many(
        conn,
        {
            feed_key.partition("/")[2]: None if doc is None else orjson.loads(doc)
            for feed_key, doc in docs.items()
        },
    )


def _mark_sent(conn: sa.Connection, ids: list[str]) -> None:
    """Those still pending were answered: they wait for their results now."""
    for chunk in _chunks(ids):
        sql = _MARK_SENT.format(marks(len(chunk)))
        conn.exec_driver_sql(sql, (SENT, *chunk, PENDING))


def _item(row: tuple[Any, ...]) -> BatchItem:
    """A batch item from its ``_ITEMS`` row."""
    return BatchItem(
        row[-2],
        mutation_from_values(row[:-2]),
        tuple(k.partition("/")[2] for k in orjson.loads(row[-1])),
    )


def _stored(row: tuple[Any, ...]) -> StoredItem:
    """A batch item's stored form from its ``_ITEMS`` row, checked as far as ``_item`` reads it.

    What fails here also fails ``_damaged`` (its checksum cannot match), so the row is set
    aside; the property's id is not covered by the checksum, and not checked (as ``_item``).
    """
    mutation_id, origin, seq, hlc, name, args, deps, priority, staff, token, crc = row[:-2]
    if not isinstance(orjson.loads(args), dict) or not isinstance(orjson.loads(deps), list):
        raise ValueError("its args or deps are not a JSON object and list")
    texts = (mutation_id, origin, hlc, name, staff, token)
    if not all(type(v) is str for v in texts) or type(seq) is not int or type(crc) is not int:
        raise TypeError("a field of the wrong type")
    keys = tuple(k.partition("/")[2] for k in orjson.loads(row[-1]))
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


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    return [keys[n : n + size] for n in range(0, len(keys), size)]
