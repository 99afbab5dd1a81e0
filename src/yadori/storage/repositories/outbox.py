"""The outbox (mutations waiting to sync) and the node's counters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yadori.storage.tables import counters, outbox, outbox_heads
from yadori.sync import canonical
from yadori.sync.mutation import Actor, Mutation, Priority

NODE_SCOPE = "node"
PENDING = "pending"

# Statements built once (see rooms.py).
_COUNTER_NEXT = (
    sa.update(counters)
    .where(counters.c.scope == sa.bindparam("b_scope"), counters.c.name == sa.bindparam("b_name"))
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)
_COUNTER_INSERT = sa.insert(counters)
_HEADS = (
    sa.select(outbox_heads.c.mutation_id)
    .where(outbox_heads.c.key.in_(sa.bindparam("keys", expanding=True)))
    .order_by(outbox_heads.c.key)
)
_OUTBOX_INSERT = sa.insert(outbox)
_HEAD_UPSERT = {
    "sqlite": sqlite_insert(outbox_heads).on_conflict_do_update(
        index_elements=[outbox_heads.c.key],
        set_={"mutation_id": sqlite_insert(outbox_heads).excluded.mutation_id},
    ),
    "postgresql": pg_insert(outbox_heads).on_conflict_do_update(
        index_elements=[outbox_heads.c.key],
        set_={"mutation_id": pg_insert(outbox_heads).excluded.mutation_id},
    ),
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
    """Increment a counter row (creating it at 1) and return the new value."""
    where = (counters.c.scope == scope) & (counters.c.name == name)
    value = conn.execute(
        sa.update(counters)
        .where(where)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar()
    if value is None:
        conn.execute(sa.insert(counters).values(scope=scope, name=name, value=1))
        return 1
    return int(value)


class SqlOutbox:
    """The node's outbox: keyed by its gapless sequence, the UUID kept as a plain column."""

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
        self._conn.execute(
            sa.insert(outbox).values(**outbox_row(mutation, self._property_id, self._now))
        )
        for key in sorted(set(keys)):
            updated = self._conn.execute(
                sa.update(outbox_heads)
                .where(outbox_heads.c.key == key)
                .values(mutation_id=mutation.id)
            )
            if updated.rowcount == 0:
                self._conn.execute(sa.insert(outbox_heads).values(key=key, mutation_id=mutation.id))

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


def outbox_row(mutation: Mutation, property_id: str, now: datetime) -> dict[str, object]:
    """The outbox row of a mutation; args and deps as canonical JSON text."""
    return {
        "seq": mutation.seq,
        "id": mutation.id,
        "property_id": property_id,
        "origin": mutation.origin,
        "hlc": mutation.hlc,
        "name": mutation.name,
        "args": canonical.encode(mutation.args).decode(),
        "deps": canonical.encode(list(mutation.deps)).decode(),
        "priority": int(mutation.priority),
        "staff_id": mutation.actor.staff_id,
        "token_id": mutation.actor.token_id,
        "crc32": mutation.crc32,
        "state": PENDING,
        "created_at": now,
    }


def mutation_from_row(row: sa.Row[tuple[object, ...]]) -> Mutation:
    """Read a stored mutation back, checksum and all."""
    m = row._mapping
    args = canonical.decode(m["args"])
    deps = canonical.decode(m["deps"])
    assert isinstance(args, dict)  # noqa: S101 - written by outbox_row
    assert isinstance(deps, list)  # noqa: S101 - written by outbox_row
    return Mutation(
        id=m["id"],
        origin=m["origin"],
        seq=m["seq"],
        hlc=m["hlc"],
        name=m["name"],
        args=args,
        deps=tuple(str(d) for d in deps),
        priority=Priority(m["priority"]),
        actor=Actor(m["staff_id"], m["token_id"]),
        crc32=m["crc32"],
    )
