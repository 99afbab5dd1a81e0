"""Errors of the sync's I/O shell.

::

    SyncError
    ├── LinkDown          (central cannot be reached, timed out, or answered 5xx: retry later)
    │   └── TimedOut      (central did not answer in time: a black hole, or a slow link)
    ├── BatchRefused      (central refused a batch's bytes, e.g. a CRC mismatch: resend it)
    └── SyncRefused       (central refused the request itself: a configuration problem)

Not link errors, the link is fine: ``DamagedQueue`` (queued mutations that no longer read back;
the worker sets them aside) and ``QueueHeld`` (more cannot be sent, damaged or too large for a
batch, than a disk fault or an odd operation explains).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yadori.sync.sync_ports import CycleReport


class SyncError(Exception):
    """The sync could not complete a call."""


class LinkDown(SyncError):
    """Central cannot be reached now."""


class TimedOut(LinkDown):
    """Central did not answer within the wait: the link is a black hole, or slower than that."""


class BatchRefused(SyncError):
    """Central refused a batch as damaged; sending it again is safe."""


class SyncRefused(SyncError):
    """Central refused the request for a reason resending will not fix."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # central's problem code (``node_unauthenticated`` …), if it gave one


class DamagedQueue(Exception):
    """Queued mutations whose stored bytes no longer read back as a mutation.

    Damaged at rest in the edge's database: sending them again cannot help, so the worker sets
    them aside (rejected, with an alert) and pushes the rest. Not a SyncError: the link is fine.
    """

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} queued mutation(s) damaged at rest, first {ids[0]}")
        self.ids = ids


class QueueHeld(Exception):
    """The queue is held, for IT: it cannot be sent as it is.

    More queued mutations cannot be sent (damaged at rest, or larger than a batch may carry)
    than a disk fault or an odd operation explains (decisions 0051, 0063): each of those is set
    aside, these many are not. Raised once the cycle's pull is done: what the edge sees
    of central stays current. Not a SyncError: the link is fine, and the monitor escalates it
    (a ``sync_error`` alert) instead of taking the link offline, backs off as after a failed
    cycle, and ends a recovery all the same (0066). ``report``: what the cycle did, pull
    included (set by the worker as it raises).
    """

    report: CycleReport | None = None
