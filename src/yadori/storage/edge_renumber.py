"""Queued mutations numbered again, when central holds their seqs for others (decision 0059).

An edge restored from a backup (or whose last commits were lost) numbers its new mutations
with seqs it had used and sent before: central, which keeps one result per (origin, seq),
holds them for other mutations and answers ``seq_taken``. The edge gives those mutations the
next seqs after central's highest and its own, with their checksums sealed again, and sends
them again. Only mutations central named are moved: one still waiting that central holds under
its own seq (sent before the backup was taken, applied since) keeps it, and is deduplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.domain.ids import new_id
from yadori.storage.repositories.outbox import (
    MUTATION_COLUMNS,
    NODE_SCOPE,
    PENDING,
    advance_counter,
    mutation_from_values,
    next_counter,
)
from yadori.storage.tables import alerts, counters, outbox
from yadori.sync.mutation import make_mutation
from yadori.sync.sync_ports import Renumbered

SEQ = "mutation_seq"  # the node's counter of mutation seqs (storage/repositories/outbox.py)


def renumber(
    engine: Engine,
    now: Callable[[], datetime],
    ids: list[str],
    above: int,
    waiting: tuple[str, ...],
) -> Renumbered:
    """Number again those of ``ids`` still ``waiting``, after ``above`` and the node's own last.

    In one transaction, in their old order; each is pending again, to be sent again. An alert
    is recorded (once for the lot) and returned, with what moved.
    """
    at = now()
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(*MUTATION_COLUMNS)
            .where(outbox.c.id.in_(ids), outbox.c.state.in_(waiting))
            .order_by(outbox.c.seq)
        ).all()
        _raise_counter(conn, above)
        moved: list[tuple[str, int, int]] = []
        for row in rows:
            old = mutation_from_values(tuple(row))
            if not old.checksum_ok():  # damaged at rest: sealing it again would hide that
                continue  # it is set aside when it is next read for a batch (0051)
            seq = next_counter(conn, NODE_SCOPE, SEQ)
            new = make_mutation(
                id=old.id,
                origin=old.origin,
                seq=seq,
                hlc=old.hlc,
                name=old.name,
                args=old.args,
                deps=old.deps,
                priority=old.priority,
                actor=old.actor,
            )
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == old.id)
                .values(seq=seq, crc32=new.crc32, state=PENDING)
            )
            moved.append((old.id, old.seq, seq))
        told = []
        if moved:
            told = [
                {
                    "id": new_id(),
                    "at": at,
                    "kind": "seq_taken",
                    "message": (
                        f"{len(moved)} queued operation(s) had sequence numbers central holds "
                        f"for others (this edge was restored from a backup, or lost commits "
                        f"it had sent): numbered again from seq {moved[0][2]} and sent again"
                    ),
                }
            ]
            conn.execute(sa.insert(alerts), told)
    return Renumbered(moved, at, [{k: str(a[k]) for k in ("kind", "message")} for a in told])


def _raise_counter(conn: sa.Connection, above: int) -> None:
    """Make the node's next seq come after ``above`` (never lower it)."""
    current = conn.execute(
        sa.select(counters.c.value).where(counters.c.scope == NODE_SCOPE, counters.c.name == SEQ)
    ).scalar()
    if (current or 0) < above:
        advance_counter(conn, NODE_SCOPE, SEQ, above - (current or 0))
