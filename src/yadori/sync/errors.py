"""Errors of the sync's I/O shell.

::

    SyncError
    ├── LinkDown          (central cannot be reached, timed out, or answered 5xx: retry later)
    │   └── TimedOut      (central did not answer in time: a black hole, or a slow link)
    ├── BatchRefused      (central refused a batch's bytes, e.g. a CRC mismatch: resend it)
    └── SyncRefused       (central refused the request itself: a configuration problem)
"""

from __future__ import annotations


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
