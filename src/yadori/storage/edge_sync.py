"""The edge's side of the sync, in its SQLite: the queue to push, pulled state, status.

Pulled aggregates are applied in one transaction (foreign keys checked at commit, since the
feed's order is by version, not by parent). An aggregate that a still-pending local mutation
touches is not overwritten: its document is kept aside and applied once central's result for
that mutation has arrived (decision 0009). A mutation leaves the queue only when its result
has been pulled and applied.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime

import orjson
import sqlalchemy as sa

from yadori.domain.ids import new_id
from yadori.storage import aggregates
from yadori.storage.edge_queue import EdgeQueue, unscoped
from yadori.storage.edge_renumber import renumber
from yadori.storage.repositories.outbox import (
    DONE,
    PENDING,
    SENT,
)
from yadori.storage.sql import chunks, marks
from yadori.storage.tables import (
    alerts,
    outbox,
    outbox_heads,
    sync_deferred,
    sync_state,
)
from yadori.storage.types import UTCDateTime
from yadori.sync import canonical
from yadori.sync.errors import SyncError
from yadori.sync.protocol import PulledChange, PulledResult
from yadori.sync.sync_ports import (
    BRAKE_ALLOWS,
    BRAKE_RELEASED,
    REPUBLISH,
    Aside,
    Renumbered,
    SetAside,
    to_republish,
)

_ACK = "UPDATE outbox SET state = ?, result = ?, reason = ?, tickets = ?, acked_at = ? WHERE id = ?"
_ACKED_AT = UTCDateTime()
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


log = logging.getLogger("yadori.sync")


class CorruptChange(SyncError):
    """A pulled document whose CRC32 does not match: the pull is refused and retried."""


class EdgeSyncStore(EdgeQueue):
    """Reads and writes the edge's sync state (its records and the status: EdgeRecords)."""

    def set_aside(self, ids: list[str], why: Aside) -> SetAside:
        """Take mutations that cannot be sent out of the queue, ``rejected``, with an alert each.

        Damaged at rest, central would refuse every batch that carries one; too large, no
        batch can (DESIGN §11: the whole queue behind it would wait). Staff see the reason in
        the sync status; the operation is entered again. Only mutations still waiting are
        taken; what was taken, and the alerts, are returned.
        """
        at = self._now()
        reason = f"{why.code}: {why.reason}"
        with self._engine.begin() as conn:
            waiting = sa.select(outbox.c.id).where(outbox.c.state.in_((PENDING, SENT)))
            taken = [
                i
                for chunk in chunks(ids)
                for i in conn.execute(waiting.where(outbox.c.id.in_(chunk))).scalars()
            ]
            acked_at = _ACKED_AT.process_bind_param(at, conn.dialect)
            for chunk in chunks(taken):
                sql = _SET_ASIDE.format(marks(len(chunk)))
                conn.exec_driver_sql(sql, (DONE, reason, acked_at, *chunk, PENDING, SENT))
            told = [
                {
                    "id": new_id(),
                    "at": at,
                    "kind": why.alert,
                    "message": f"queued mutation {i} {why.told}",
                }
                for i in taken
            ]
            if told:
                conn.execute(sa.insert(alerts), told)
            self._ask_republish(conn, taken)
        alerts_told = [{k: str(a[k]) for k in ("kind", "message")} for a in told]
        return SetAside(taken, reason, at, alerts_told)

    def _ask_republish(self, conn: sa.Connection, ids: list[str]) -> None:
        """Store what mutations set aside touched, for central to publish again (0064).

        Central never had them, and publishes an aggregate only when something changes it:
        without asking, this edge would keep their effects (a charge, a room's status) until
        central next changed the same aggregates. The aggregates are kept beside each mutation,
        outside its checksummed fields: a row damaged in its arguments still names them. One
        whose list does not read back is named in the log (the daily reconciliation finds
        what it touched).
        """
        touched: dict[str, set[str]] = {}
        for chunk in chunks(ids):
            query = sa.select(outbox.c.id, outbox.c.property_id, outbox.c.aggregates)
            for row in conn.execute(query.where(outbox.c.id.in_(chunk))):
                try:
                    keys = canonical.decode(row.aggregates)
                except ValueError:
                    keys = None
                if not isinstance(keys, list):
                    log.error(
                        "queued mutation %s was set aside, and what it touched does not read "
                        "back: central cannot be asked to publish it again",
                        row.id,
                    )
                    continue
                # only keys that name an aggregate the feed carries (a login touches none)
                if found := {k for k in unscoped(map(str, keys)) if aggregates.carried(k)}:
                    touched.setdefault(row.property_id, set()).update(found)
        asked = to_republish(self.state_in(conn))  # and not yet taken by central
        self._set_state(
            conn, {f"{REPUBLISH}{p}": _keys(k | set(asked.get(p, ()))) for p, k in touched.items()}
        )

    def republished(self, property_id: str, keys: list[str]) -> None:
        """Central marked these to publish again: they are no longer asked for.

        Only those: what was set aside since the ask was sent is asked for next time.
        """
        name = f"{REPUBLISH}{property_id}"
        with self._engine.begin() as conn:
            left = set(to_republish(self.state_in(conn)).get(property_id, ())) - set(keys)
            if left:
                self._set_state(conn, {name: _keys(left)})
            else:
                conn.execute(sa.delete(sync_state).where(sync_state.c.name == name))

    def release_brake(self, allows: int) -> datetime:
        """IT releases the set-aside brake: ``allows`` may be set aside from now (0065).

        For a brake window's time; recorded as a ``brake_released`` alert. The worker reads it
        the next time it would set one aside.
        """
        at = self._now()
        message = (
            f"IT released the set-aside brake: up to {allows} queued operation(s) that cannot be "
            "sent may be set aside (rejected, to be entered again)"
        )
        with self._engine.begin() as conn:
            self._set_state(conn, {BRAKE_RELEASED: at.isoformat(), BRAKE_ALLOWS: str(allows)})
            conn.execute(
                sa.insert(alerts).values(id=new_id(), at=at, kind="brake_released", message=message)
            )
        log.warning("%s", message)
        return at

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
        for chunk in chunks(keys) if aside else ():
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
        for chunk in chunks(keys):
            sql = _PENDING_ON.format(marks(len(chunk)))
            pending.update(r[0] for r in conn.exec_driver_sql(sql, (*chunk, PENDING, SENT)))
        return pending

    # --- state, log, status ----------------------------------------------------------------

    def state(self) -> dict[str, str]:
        """Every stored sync value (cursors, batch chain, last successes)."""
        with self._engine.connect() as conn:
            return self.state_in(conn)

    @staticmethod
    def state_in(conn: sa.Connection) -> dict[str, str]:
        """Every stored sync value, read on ``conn``."""
        return {r.name: r.value for r in conn.execute(sa.select(sync_state))}

    @staticmethod
    def _set_state(conn: sa.Connection, values: dict[str, str]) -> None:
        if values:
            conn.exec_driver_sql(_SET_STATE, list(values.items()))


def _keys(keys: set[str]) -> str:
    """Aggregate keys as the state stores them: a sorted JSON list."""
    return canonical.encode(sorted(keys)).decode()


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
    for chunk in chunks(ids):
        sql = _MARK_SENT.format(marks(len(chunk)))
        conn.exec_driver_sql(sql, (SENT, *chunk, PENDING))
