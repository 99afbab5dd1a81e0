"""The outbox (mutations waiting to sync) and the node's counters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from yadori.storage.tables import counters, outbox, outbox_heads
from yadori.sync import canonical
from yadori.sync.mutation import Actor, Mutation, Priority

NODE_SCOPE = "node"
PENDING = "pending"  # the outbox states: waiting to be pushed,
SENT = "sent"  # answered by central, its result not pulled yet,
DONE = "done"  # its result pulled and applied

# Statements built once (see rooms.py).
_COUNTER_NEXT = {
    name: dialect.insert(counters)
    .on_conflict_do_update(
        index_elements=[counters.c.scope, counters.c.name],
        set_={"value": counters.c.value + sa.bindparam("b_by")},
    )
    .returning(counters.c.value)
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", pg_dialect))
}
_HEADS = (
    sa.select(outbox_heads.c.mutation_id)
    .where(outbox_heads.c.key.in_(sa.bindparam("keys", expanding=True)))
    .order_by(outbox_heads.c.key)
)
_OUTBOX_INSERT = sa.insert(outbox)
_HEAD_UPSERT = {
    name: dialect.insert(outbox_heads).on_conflict_do_update(
        index_elements=[outbox_heads.c.key],
        set_={"mutation_id": dialect.insert(outbox_heads).excluded.mutation_id},
    )
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", pg_dialect))
}


class SqlCounters:
    """Gapless named sequences, per property (human numbers) or per node (mutation seq)."""

    def __init__(self, conn: sa.Connection, scope: str) -> None:
        self._conn = conn
        self._scope = scope

    def next(self, name: str) -> int:
        """Take the next value; the row lock keeps it gapless under concurrent writers."""
        return next_counter(self._conn, self._scope, name)


def next_counter(conn: sa.Connection, scope: str, name: str) -> int:
    """Increment a counter (creating it at 1) in one statement, and return the new value.

    An upsert, so two writers taking the first value of a new counter queue on the row
    instead of one of them failing on the primary key.
    """
    return advance_counter(conn, scope, name, 1)


def advance_counter(conn: sa.Connection, scope: str, name: str, by: int) -> int:
    """Add ``by`` to a counter (creating it at ``by``) and return its new value."""
    params = {"scope": scope, "name": name, "value": by, "b_by": by}
    return int(conn.execute(_COUNTER_NEXT[conn.dialect.name], params).scalar_one())


class SqlOutbox:
    """The node's outbox: keyed by its sequence, the UUID kept as a plain column.

    The sequence is gapless but where mutations were numbered again (decision 0059).
    """

    def __init__(self, conn: sa.Connection, property_id: str, now: datetime) -> None:
        self._conn = conn
        self._property_id = property_id
        self._now = now

    def next_seq(self) -> int:
        """The node's next mutation sequence number."""
        return next_counter(self._conn, NODE_SCOPE, "mutation_seq")

    def heads(self, keys: Iterable[str]) -> tuple[str, ...]:
        """Latest mutation of each aggregate, deduplicated, in key order."""
        wanted = sorted(set(keys))
        if not wanted:
            return ()
        rows = self._conn.execute(_HEADS, {"keys": wanted}).scalars()
        return tuple(dict.fromkeys(rows))

    def append(self, mutation: Mutation, keys: Iterable[str]) -> None:
        """Store the mutation and make it the head of each aggregate it touched."""
        aggregates = sorted(set(keys))
        row = outbox_row(mutation, self._property_id, self._now, aggregates)
        self._conn.execute(_OUTBOX_INSERT, row)
        heads = [{"key": key, "mutation_id": mutation.id} for key in aggregates]
        if heads:
            self._conn.execute(_HEAD_UPSERT[self._conn.dialect.name], heads)

    def pending_count(self) -> int:
        """Mutations not yet acknowledged by central."""
        return int(
            self._conn.execute(
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.state == PENDING)
            ).scalar_one()
        )

    def all(self) -> list[Mutation]:
        """Every mutation in sequence order (for audits and tests)."""
        rows = self._conn.execute(sa.select(outbox).order_by(outbox.c.seq))
        return [mutation_from_row(r) for r in rows]


def outbox_row(
    mutation: Mutation, property_id: str, now: datetime, aggregates: list[str]
) -> dict[str, object]:
    """The outbox row of a mutation; args, deps and the aggregates it touched as JSON text.

    The aggregates are kept beside the mutation (not in its checksummed fields): the sync's
    rebase needs to know which pending mutations touch a pulled row.
    """
    return {
        "seq": mutation.seq,
        "id": mutation.id,
        "property_id": property_id,
        "origin": mutation.origin,
        "hlc": mutation.hlc,
        "name": mutation.name,
        "args": canonical.encode(mutation.args).decode(),
        "deps": canonical.encode(list(mutation.deps)).decode(),
        "aggregates": canonical.encode(aggregates).decode(),
        "priority": int(mutation.priority),
        "staff_id": mutation.actor.staff_id,
        "token_id": mutation.actor.token_id,
        "crc32": mutation.crc32,
        "state": PENDING,
        "created_at": now,
    }


# A mutation's columns, in the order ``mutation_from_values`` takes them.
MUTATION_COLUMNS = (
    outbox.c.id,
    outbox.c.origin,
    outbox.c.seq,
    outbox.c.hlc,
    outbox.c.name,
    outbox.c.args,
    outbox.c.deps,
    outbox.c.priority,
    outbox.c.staff_id,
    outbox.c.token_id,
    outbox.c.crc32,
)


def mutation_from_row(row: sa.Row[tuple[object, ...]]) -> Mutation:
    """Read a stored mutation back, checksum and all."""
    m = row._mapping
    return mutation_from_values(tuple(m[c.name] for c in MUTATION_COLUMNS))


def mutation_from_values(values: Sequence[Any]) -> Mutation:
    """A stored mutation from its ``MUTATION_COLUMNS`` values, checksum and all."""
    mutation_id, origin, seq, hlc, name, args_text, deps_text, priority, staff, token, crc = values
    args = canonical.decode(args_text)
    deps = canonical.decode(deps_text)
    assert isinstance(args, dict)  # noqa: S101 - written by outbox_row
    assert isinstance(deps, list)  # noqa: S101 - written by outbox_row
    return Mutation(
        id=mutation_id,
        origin=origin,
        seq=seq,
        hlc=hlc,
        name=name,
        args=args,
        deps=tuple(str(d) for d in deps),
        priority=Priority(priority),
        actor=Actor(staff, token),
        crc32=crc,
    )
