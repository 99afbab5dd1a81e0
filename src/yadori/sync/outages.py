"""The outage a monitor has open: written to the outage log, timed by the monotonic clock.

An outage opens when the link goes offline (before anyone can see the new state: what is queued
from then on belongs to it), records the queue it built up when the link answers again, and
closes when the recovery is done. Its length is taken by the monotonic clock: a wall clock set
back or forward (NTP after a long outage, a technician) neither hides an outage nor makes one
up. The log's writes may fail (a locked or full disk): the failure is reported, and the link's
state and the staff banner move on all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from yadori.sync.connectivity import LinkState
from yadori.sync.monitor_ports import OutageLog

_P = ParamSpec("_P")
_R = TypeVar("_R")


class OutageBook:
    """Keeps the open outage (if any) in step with the link's state."""

    def __init__(
        self,
        log_store: OutageLog,
        clock: Callable[[], float],
        failed: Callable[[str, Exception], None],
    ) -> None:
        self._log = log_store
        self._clock = clock
        self._failed = failed  # told of a write that failed: what, and the error
        # its id (None: not recorded), and its start by the wall and by the monotonic clock
        self._open: tuple[str | None, datetime, float] | None = None
        self._told = False  # its length was escalated

    def resume(self, outage_id: str, started: datetime, now: datetime) -> None:
        """Go on with an outage the node was stopped during (a power cut, say).

        Its length counts from its start: by the wall clock for the time the node was stopped.
        """
        stopped_for = max(0.0, (now - started).total_seconds())
        self._open = (outage_id, started, self._clock() - stopped_for)

    @property
    def started(self) -> datetime | None:
        """When the open outage started, by the wall clock."""
        return None if self._open is None else self._open[1]

    def moved(self, state: LinkState, now: datetime) -> None:
        """The link moved to ``state`` at ``now``."""
        if state is LinkState.OFFLINE and self._open is None:
            self._open = (self.call(self._log.open_outage, now), now, self._clock())
        if self._open is None:
            return
        outage_id, _, since = self._open
        if state is LinkState.RECOVERING and outage_id is not None:
            self.call(self._log.link_back, outage_id)
        if state is LinkState.ONLINE:
            if outage_id is not None:
                self.call(self._log.close_outage, outage_id, now, self._clock() - since)
            self._open, self._told = None, False

    def overdue(self, limit: float) -> int | None:
        """The open outage's seconds, the first time they reach ``limit`` (else None)."""
        if self._open is None or self._told:
            return None
        seconds = self._clock() - self._open[2]
        if seconds < limit:
            return None
        self._told = True
        return int(seconds)

    def call(self, call: Callable[_P, _R], *args: _P.args, **kw: _P.kwargs) -> _R | None:
        """Call the outage log; a failure (a locked or full disk) is reported, None returned."""
        try:
            return call(*args, **kw)
        except Exception as exc:  # the banner and the sync matter more than the record
            self._failed("the outage log", exc)
            return None
