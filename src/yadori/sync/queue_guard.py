"""What the sync worker does with queued mutations it cannot send as they are.

Damaged at rest in the edge's database (decision 0051): set aside — rejected, with an alert
and an ``ESCALATION`` line — and the rest of the queue goes on; past ``MAX_SET_ASIDE`` in all
(more than a disk fault explains) the queue is held instead. Larger than a batch may carry
(decision 0062): a chosen batch is cut to its leading part that fits, and a single mutation
larger than a whole batch holds the queue rather than being dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from yadori.sync.canonical import JSON
from yadori.sync.errors import DamagedQueue, QueueHeld
from yadori.sync.protocol import items_that_fit
from yadori.sync.sync_ports import Announce, CycleReport, Store

MAX_SET_ASIDE = 20  # damaged mutations set aside in all before the queue is held instead
log = logging.getLogger("yadori.sync")


class QueueGuard:
    """Reads a chosen batch for sending, setting aside or holding what cannot go."""

    def __init__(
        self, store: Store, announce: Announce, now: Callable[[], datetime], batch_bytes: int
    ) -> None:
        self._store = store
        self._announce = announce
        self._now = now
        self._batch_bytes = batch_bytes

    def encoded(self, ids: list[str], report: CycleReport) -> list[bytes] | None:
        """The chosen batch's items, encoded, as many as one batch may carry.

        None when some were damaged at rest and set aside: the batch is chosen again.
        Raises QueueHeld (too many damaged, or one too large to send).
        """
        try:
            return self._fitting(self._store.encoded_items(ids), ids)
        except DamagedQueue as exc:
            if not self.set_aside(exc.ids, report):
                raise
            return None

    def _fitting(self, items: list[bytes], ids: list[str]) -> list[bytes]:
        """The leading items one batch may carry (central's bound); the rest go in the next.

        A mutation larger than a whole batch cannot be sent: the queue is held for IT rather
        than the mutation dropped (nothing the staff screens write comes near the bound).
        """
        fit = items_that_fit(items, self._batch_bytes)
        if fit == 0:
            raise QueueHeld(
                f"queued mutation {ids[0]} is {len(items[0])} bytes encoded, more than the "
                f"{self._batch_bytes} a batch may carry: the queue is held for IT (sync "
                "status, alerts) rather than the mutation dropped"
            )
        return items[:fit]

    def set_aside(self, ids: list[str], report: CycleReport) -> bool:
        """Set aside those of ``ids`` damaged at rest; whether there were any.

        A few damaged rows are a disk's fault. More than ``MAX_SET_ASIDE`` in all is not (an
        upgrade that reads old rows otherwise, a bug): the queue is held, and the error
        escalated, rather than emptied.
        """
        damaged = self._store.damaged(ids)
        if not damaged:
            return False
        before = self._store.set_aside_count()
        if before + len(damaged) > MAX_SET_ASIDE:
            raise QueueHeld(
                f"{len(damaged)} queued mutation(s) no longer read back or match their CRC32, "
                f"after {before} set aside before: more than a disk fault explains, so the "
                "queue is held for IT (sync status, alerts) rather than emptied"
            )
        aside = self._store.set_aside(damaged)
        report.rejected += len(aside.ids)
        for mutation_id in aside.ids:
            log.error(
                "ESCALATION outbox_damaged: queued mutation %s was damaged on the edge's disk "
                "(it no longer reads back or matches its CRC32); it was set aside (rejected) "
                "and the rest of the queue goes on",
                mutation_id,
            )
        at = aside.at.isoformat()
        for alert in aside.alerts:  # as recorded
            self._announce("alert", {**alert, "at": at})
        self.rejected([(i, aside.reason) for i in aside.ids], at)
        return True

    def rejected(self, rejected: list[tuple[str, str]], at: str | None = None) -> None:
        """Tell the staff banner (``/events``) which operations were rejected, and why."""
        if rejected:
            mutations: list[JSON] = [{"mutation_id": i, "reason": r} for i, r in rejected]
            when = at or self._now().isoformat()
            self._announce("rejected", {"mutations": mutations, "at": when})
