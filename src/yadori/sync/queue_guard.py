"""What the sync worker does with queued mutations it cannot send as they are.

Damaged at rest in the edge's database (decision 0051), or larger than a whole batch may carry
(decisions 0062, 0063): set aside — rejected, with an alert and an ``ESCALATION`` line — and
the rest of the queue goes on. Past ``MAX_SET_ASIDE`` within ``BRAKE_WINDOW`` (more than a disk
fault or one odd operation explains: an upgrade, a bug) the queue is held instead, until the
window moves on or IT releases the brake (``yadori edge release-brake``, decision 0065). A
chosen batch larger than a batch may carry is cut to its leading part that fits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from yadori.sync.canonical import JSON
from yadori.sync.errors import DamagedQueue, QueueHeld
from yadori.sync.protocol import items_that_fit
from yadori.sync.sync_ports import (
    BRAKE_ALLOWS,
    BRAKE_RELEASED,
    DAMAGED,
    TOO_LARGE,
    Announce,
    Aside,
    CycleReport,
    Store,
)

MAX_SET_ASIDE = 20  # mutations set aside (damaged or too large) within BRAKE_WINDOW, at most:
BRAKE_WINDOW = timedelta(hours=24)  # past that the queue is held (a rate: an edge lives years)
log = logging.getLogger("yadori.sync")

_DAMAGED = Aside(
    DAMAGED,
    "this edge's copy of it was damaged on its disk (it no longer reads back or matches its "
    "CRC32), so it was not sent; enter the operation again",
    "outbox_damaged",
    "was damaged at rest and set aside",
)


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

        None when one was set aside (damaged at rest, or its first too large for any batch):
        the batch is chosen again. Raises QueueHeld past the brake.
        """
        try:
            items = self._store.encoded_items(ids)
        except DamagedQueue as exc:
            if not self.set_aside(exc.ids, report):
                raise
            return None
        fit = items_that_fit(items, self._batch_bytes)
        if fit:  # the rest go in the next batches
            return items[:fit]
        self._put_aside([ids[0]], self._too_large(len(items[0])), report)
        return None

    def _too_large(self, size: int) -> Aside:
        return Aside(
            TOO_LARGE,
            f"it is {size} bytes encoded, more than the {self._batch_bytes} a batch may carry, "
            "so it could not be sent; enter the operation again (and tell IT: nothing the "
            "screens write comes near that)",
            "outbox_too_large",
            f"was {size} bytes, more than a batch may carry, and was set aside",
        )

    def set_aside(self, ids: list[str], report: CycleReport) -> bool:
        """Set aside those of ``ids`` damaged at rest; whether there were any."""
        damaged = self._store.damaged(ids)
        if not damaged:
            return False
        self._put_aside(damaged, _DAMAGED, report)
        return True

    def _put_aside(self, ids: list[str], why: Aside, report: CycleReport) -> None:
        """Set ``ids`` aside for ``why``, unless that passes the brake.

        A few damaged rows are a disk's fault, one mutation too large an odd operation. More
        than ``MAX_SET_ASIDE`` within ``BRAKE_WINDOW`` is not (an upgrade that reads old rows
        otherwise, a bound lowered, a bug): the queue is held, and the error escalated, rather
        than emptied. A rate, not a count for ever: an edge that runs for years meets a few
        such faults, and must not end up held for good by them.
        """
        since, limit, when = self._brake()
        before = self._store.set_aside_since(since)
        if before + len(ids) > limit:
            more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
            raise QueueHeld(
                f"queued mutation(s) {', '.join(ids[:3])}{more} cannot be sent ({why.code}), "
                f"after {before} set aside {when}, of at most {limit}: more than a disk fault or "
                "an odd operation explains, so the queue is held for IT rather than emptied (the "
                "alerts name the operations; once the cause is understood, `yadori edge "
                f"release-brake --allow {len(ids)}` or more lets these be set aside)"
            )
        aside = self._store.set_aside(ids, why)
        report.rejected += len(aside.ids)
        for mutation_id in aside.ids:
            log.error(
                "ESCALATION %s: queued mutation %s %s (rejected: %s); the rest of the queue goes "
                "on",
                why.alert,
                mutation_id,
                why.told,
                why.code,
            )
        at = aside.at.isoformat()
        for alert in aside.alerts:  # as recorded
            self._announce("alert", {**alert, "at": at})
        self.rejected([(i, aside.reason) for i in aside.ids], at)

    def _brake(self) -> tuple[datetime, int, str]:
        """Since when set-asides count, how many may be set aside, and the count's words.

        ``MAX_SET_ASIDE`` within ``BRAKE_WINDOW``. After IT released the brake (``BRAKE_RELEASED``,
        less than a window ago), those set aside since the release, up to what IT allowed. A
        release that does not read back (damaged on the disk) is ignored, and said so.
        """
        now = self._now()
        state = self._store.state()
        released, allows = state.get(BRAKE_RELEASED), state.get(BRAKE_ALLOWS)
        if released is not None:
            try:
                at, allowed = datetime.fromisoformat(released), int(allows or "")
                fresh = timedelta(0) <= now - at < BRAKE_WINDOW and allowed >= 0
            except (ValueError, TypeError):  # unreadable, or a time without its zone
                log.error(
                    "the set-aside brake's release (%r, %r) does not read back", released, allows
                )
                fresh = False
            if fresh:
                return at, allowed, f"since IT released the brake at {released}"
        hours = BRAKE_WINDOW // timedelta(hours=1)
        return now - BRAKE_WINDOW, MAX_SET_ASIDE, f"in the last {hours} hours"

    def rejected(self, rejected: list[tuple[str, str]], at: str | None = None) -> None:
        """Tell the staff banner (``/events``) which operations were rejected, and why."""
        if rejected:
            mutations: list[JSON] = [{"mutation_id": i, "reason": r} for i, r in rejected]
            when = at or self._now().isoformat()
            self._announce("rejected", {"mutations": mutations, "at": when})
