"""What the edge records of its sync, and reads for the status screen.

The outage log (an outage's start, the queue it built up, its end and length) and the alerts
(written by the monitor and the worker), and the queue as the status screen shows it: depth per
lane, the oldest waiting mutation, the rejected ones and the open conflict tickets. The edge's
sync store (edge_sync.py) is these records and the queue's push and pull.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.domain.ids import new_id
from yadori.storage.repositories.outbox import PENDING, SENT
from yadori.storage.tables import alerts, conflict_tickets, outages, outbox
from yadori.sync import canonical
from yadori.sync.sync_ports import SET_ASIDE_CODES


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queue as the status screen shows it."""

    by_lane: dict[int, int]
    oldest_pending: datetime | None
    rejected: list[dict[str, str]]  # the latest 50
    open_tickets: int
    rejected_total: int = 0  # all of them


class EdgeRecords:
    """The edge's outage log, alerts and status reads, on its database."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    def pending_count(self) -> int:
        """Mutations still waiting for central's result (sent or not)."""
        with self._engine.connect() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.state.in_([PENDING, SENT]))
            )
            return int(conn.execute(query).scalar_one())

    def has_unsent(self) -> bool:
        """Whether anything waits to be pushed (cheap: one index probe)."""
        with self._engine.connect() as conn:
            query = sa.select(outbox.c.seq).where(outbox.c.state == PENDING).limit(1)
            return conn.execute(query).first() is not None

    def set_aside_since(self, since: datetime) -> int:
        """How many queued mutations were set aside (damaged, or too large to send) since then.

        By when each was set aside (its ``acked_at``).
        """
        with self._engine.connect() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(
                    sa.or_(
                        *(
                            outbox.c.reason.startswith(f"{code}:", autoescape=True)
                            for code in SET_ASIDE_CODES
                        )
                    ),
                    outbox.c.acked_at >= since,
                )
            )
            return int(conn.execute(query).scalar_one())

    def open_outage(self, at: datetime) -> str:
        """Log the start of an outage with the queue at that moment."""
        outage_id = new_id()
        queued = self.pending_count()
        with self._engine.begin() as conn:
            conn.execute(
                sa.insert(outages).values(id=outage_id, started_at=at, queued_at_start=queued)
            )
        return outage_id

    def link_back(self, outage_id: str) -> None:
        """The link answered again: log the queue the outage built up, before it is synced."""
        queued = self.pending_count()
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(outages).where(outages.c.id == outage_id).values(queued_at_end=queued)
            )

    def close_outage(self, outage_id: str, at: datetime, seconds: float) -> None:
        """Log the end of an outage (the recovery sync is done) and its length.

        The length is the monotonic clock's (``seconds``), not the difference of the wall
        times logged, which a clock set during the outage would make wrong, even negative.
        """
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(outages)
                .where(outages.c.id == outage_id)
                .values(ended_at=at, duration_ms=max(0, int(seconds * 1000)))
            )

    def unfinished_outage(self) -> tuple[str, datetime] | None:
        """The latest outage, if it has no end (the edge stopped during it): id, start.

        Only the latest: an older one left open (its end failed to be written) is history.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(outages.c.id, outages.c.started_at, outages.c.ended_at)
                .order_by(outages.c.started_at.desc())
                .limit(1)
            ).first()
        return None if row is None or row.ended_at is not None else (row.id, row.started_at)

    def outages(self, limit: int = 20) -> list[dict[str, object]]:
        """The latest outages, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(outages).order_by(outages.c.started_at.desc()).limit(limit)
            )
            return [{k: canonical.to_json(v) for k, v in r._mapping.items()} for r in rows]

    def alert(self, kind: str, message: str, at: datetime) -> None:
        """Record an escalation."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.insert(alerts).values(id=new_id(), at=at, kind=kind, message=message[:500])
            )

    def alerts(self, limit: int = 20) -> list[dict[str, object]]:
        """The latest alerts, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(alerts).order_by(alerts.c.at.desc()).limit(limit))
            return [{k: canonical.to_json(v) for k, v in r._mapping.items()} for r in rows]

    def queue(self) -> QueueStats:
        """Queue depth per lane, the oldest pending mutation, rejected ones, open tickets."""
        with self._engine.connect() as conn:
            lanes = conn.execute(
                sa.select(outbox.c.priority, sa.func.count())
                .where(outbox.c.state.in_([PENDING, SENT]))
                .group_by(outbox.c.priority)
            ).all()
            oldest = conn.execute(
                sa.select(sa.func.min(outbox.c.seq)).where(outbox.c.state.in_([PENDING, SENT]))
            ).scalar()
            oldest_at = None
            if oldest is not None:
                oldest_at = conn.execute(
                    sa.select(outbox.c.created_at).where(outbox.c.seq == oldest)
                ).scalar()
            # both on the partial index ix_outbox_rejected (the literal is its condition)
            is_rejected = sa.text("outbox.result = 'rejected'")
            rejected = conn.execute(
                sa.select(outbox.c.id, outbox.c.name, outbox.c.reason, outbox.c.hlc)
                .where(is_rejected)
                .order_by(outbox.c.seq.desc())
                .limit(50)
            ).all()
            rejected_total = conn.execute(
                sa.select(sa.func.count()).select_from(outbox).where(is_rejected)
            ).scalar_one()
            tickets = conn.execute(
                sa.select(sa.func.count())
                .select_from(conflict_tickets)
                .where(conflict_tickets.c.status == "open")
            ).scalar_one()
        return QueueStats(
            by_lane={int(p): int(n) for p, n in lanes},
            oldest_pending=_as_utc(oldest_at),
            rejected=[
                {"id": r.id, "name": r.name, "reason": r.reason or "", "hlc": r.hlc}
                for r in rejected
            ],
            open_tickets=int(tickets),
            rejected_total=int(rejected_total),
        )


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    assert isinstance(value, datetime)  # noqa: S101 - a UTCDateTime column
    return value
