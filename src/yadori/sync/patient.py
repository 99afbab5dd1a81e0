"""The patient heartbeat: a beat that timed out, asked again waiting the longest (0046).

Only answered beats teach the round trip, so a link already slower than the allowance when
the edge first reaches it (at start, or after a failover to a satellite or LTE link) would
never be seen as alive. This beat runs on a client of its own, which the monitor's ``abort``
leaves alone, one at a time and at most every ``PATIENT_EVERY`` seconds (a black hole must not
double an overloaded central's heartbeats). Its answer is no sample: a request held in a black
hole may be delivered when the path returns, and its time would then be the outage's. It only
tells the next regular beat how long to wait (once, and not while online); that beat's own
answer, on a fresh request, is the sample. The state moves with the regular beats alone, which
keep their rhythm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from yadori.sync.connectivity import ROUND_TRIP_ALLOWANCE_CAP, RoundTrip
from yadori.sync.errors import SyncError
from yadori.sync.monitor_ports import PatientLink

log = logging.getLogger("yadori.sync")

PATIENT_EVERY = 10.0
"""At most one patient heartbeat starts in this many seconds."""


class PatientProbe:
    """Asks central patiently in a thread of its own; tells ``answered`` the wait it learnt."""

    def __init__(
        self,
        link: PatientLink,
        origin: str,
        allowance: float,
        clock: Callable[[], float],
        answered: Callable[[float], None],
    ) -> None:
        self._link = link
        self._origin = origin
        self._allowance = allowance
        self._clock = clock
        self._answered = answered
        self._thread: threading.Thread | None = None
        self._next = float("-inf")  # no patient beat before this (the monitor's clock)

    def ask(self) -> None:
        """Start a patient beat, unless one runs or one started less than PATIENT_EVERY ago."""
        if self._thread is not None and self._thread.is_alive():
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + PATIENT_EVERY
        self._thread = threading.Thread(
            target=self._beat, name="yadori-patient-heartbeat", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Wait for a patient beat in flight (no new one may start), then close the client."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=15)
        self._link.close()

    def _beat(self) -> None:
        started = time.monotonic()
        try:
            self._link.heartbeat(self._origin, self._allowance + ROUND_TRIP_ALLOWANCE_CAP)
        except SyncError:
            return  # down, or slower than any beat may wait: nothing learnt
        took = time.monotonic() - started
        log.info("a heartbeat that waited longer was answered in %.0f ms", took * 1000)
        self._answered(RoundTrip(took).timeout(self._allowance))  # the wait for such a link
