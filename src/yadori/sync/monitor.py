"""The connectivity monitor and the sync loop of an edge, as one background thread.

A heartbeat to central about once a second (and every failed sync call) drives the state
machine in ``connectivity.py``. When the link comes back: push by priority, pull, the
reconciliation hook, then online with heightened monitoring. Every transition and queue change
is published for the staff banner; outages are logged; a long outage or a long queue escalates.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from yadori.sync.connectivity import (
    Link,
    LinkState,
    RoundTrip,
    Timing,
    next_probe,
    on_failure,
    on_recovered,
    on_success,
    sync_backoff,
)
from yadori.sync.errors import QueueHeld, SyncError, SyncRefused, TimedOut
from yadori.sync.events import EventHub
from yadori.sync.hlc import HybridClock, Timestamp
from yadori.sync.monitor_ports import (
    AfterBeat,
    Heartbeat,
    OutageLog,
    PatientLink,
    Reconcile,
    Snapshot,
    Thresholds,
    no_reconcile,
    nothing_after,
)
from yadori.sync.outages import OutageBook
from yadori.sync.patient import PatientProbe
from yadori.sync.sync_ports import CycleReport
from yadori.sync.worker import SyncWorker

log = logging.getLogger("yadori.sync")

SYNC_FAILURES_ESCALATED = 5
"""Sync cycles failing in a row, each after a heartbeat was answered, before IT is told."""


class Monitor:
    """Runs heartbeats, sync cycles and recovery in a daemon thread."""

    def __init__(
        self,
        worker: SyncWorker,
        link: Heartbeat,
        log_store: OutageLog,
        hub: EventHub,
        hlc: HybridClock,
        *,
        origin: str,
        timing: Timing | None = None,
        thresholds: Thresholds | None = None,
        reconcile: Reconcile = no_reconcile,
        clock: Callable[[], float] = time.monotonic,
        patient: PatientLink | None = None,
        after_beat: AfterBeat | None = None,
    ) -> None:
        self._worker, self._link, self._log = worker, link, log_store
        self._hub, self._hlc = hub, hlc
        self._origin = origin
        self._timing = timing or Timing()
        self._thresholds = thresholds or Thresholds()
        self._reconcile = reconcile
        self._clock = clock
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._state = Link(LinkState.ONLINE, clock())
        self._stop = threading.Event()
        self._wake = threading.Event()  # wakes the sync thread
        self._beat_wake = threading.Event()  # wakes the heartbeat thread
        self._lock = threading.Lock()  # both threads move the state
        # heartbeats have their own: a sync call stuck in a black hole delays no outage
        self._threads = (
            threading.Thread(target=self._run_heartbeats, name="yadori-heartbeat", daemon=True),
            threading.Thread(target=self._run_sync, name="yadori-sync", daemon=True),
        )
        self._skew_alarmed = False
        self._skew_ms: int | None = None
        self._trip = RoundTrip()  # of the heartbeats answered (set under the lock)
        # a beat that timed out is asked again, waiting the longest, in a thread of its own
        self._patient: PatientProbe | None = None
        if patient is not None:  # its answer tells the next beat how long to wait (patient.py)
            allowance = self._timing.heartbeat_allowance
            self._patient = PatientProbe(patient, origin, allowance, clock, self._hinted)
        self._after_beat = after_beat or nothing_after  # once a beat moved the state (0054)
        self._after_error: str | None = None
        self._step_errors: dict[str, str] = {}  # the last error each kind of step met
        self._hint: float | None = None  # the next beat's wait, told by a patient answer
        self._last_ok: datetime | None = None
        self._last_cycle: CycleReport | None = None
        self._last_error: str | None = None
        self._outages = OutageBook(log_store, clock, self._survived)  # the open outage
        self._resume_outage()
        self._last_queue, self._next_pull = -1, 0.0
        self._refused: str | None = None  # the refusal last escalated, until a sync goes through
        # cycles failed in a row, and no cycle before this (monitor's clock): see _back_off
        self._sync_failures, self._sync_after = 0, float("-inf")
        self._failing_told = False  # sync_failing told for this run of failures

    def _resume_outage(self) -> None:
        """An outage the edge was stopped during goes on, offline until a beat is answered."""
        unfinished = self._outages.call(self._log.unfinished_outage)
        if unfinished is not None:
            now = datetime.now(UTC)
            self._outages.resume(*unfinished, now)
            self._state = Link(LinkState.OFFLINE, self._clock())
            self._tell_link(LinkState.OFFLINE, now)  # a banner connecting now is told (replayed)

    # --- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the heartbeat and sync threads."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop both threads (within a heartbeat or a sync call)."""
        self._stop.set()
        self._wake.set()
        self._beat_wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=15)
        # the heartbeat thread is done: no patient beat starts after this
        if self._patient is not None:
            self._patient.close()

    def nudge(self) -> None:
        """Something was written: sync soon instead of at the next pull interval."""
        self._wake.set()

    @property
    def state(self) -> LinkState:
        """The link's state now."""
        return self._state.state

    def snapshot(self) -> Snapshot:
        """The link as the status screen shows it."""
        link, trip = self._state, self._trip
        since = datetime.now(UTC).timestamp() - (self._clock() - link.since)
        return Snapshot(
            state=link.state.value,
            since=datetime.fromtimestamp(since, UTC).isoformat(),
            skew_ms=self._skew_ms,
            round_trip_ms=None if trip.smoothed is None else round(trip.smoothed * 1000),
            heartbeat_timeout_ms=round(trip.timeout(self._timing.heartbeat_allowance) * 1000),
            last_heartbeat_ok=self._last_ok.isoformat() if self._last_ok else None,
            last_cycle=self._last_cycle,
            last_error=self._last_error,
            outage_started=started.isoformat() if (started := self._outages.started) else None,
        )

    # --- the loop --------------------------------------------------------------------------

    def _run_heartbeats(self) -> None:
        while not self._stop.is_set():
            try:
                self._beat()
                self._watch_queue()
                self._step_errors.pop("a heartbeat step", None)  # told anew if it comes back
            except Exception as exc:  # reading the queue failed (a locked disk): beat on
                self._survived("a heartbeat step", exc)
            with self._lock:
                delay = next_probe(
                    self._state, self._clock(), self._timing, self._rng, self._trip.extra()
                )
            self._beat_wake.wait(delay)
            self._beat_wake.clear()

    def _run_sync(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync_step()
                self._step_errors.pop("a sync step", None)
            except Exception as exc:  # recording an alert failed (a locked or full disk): go on
                self._survived("a sync step", exc)
            self._wake.wait(self._timing.heightened)
            self._wake.clear()

    def _sync_step(self) -> None:
        state = self._state.state
        if self._clock() < self._sync_after:
            return  # backing off after failed cycles (the heartbeats go on meanwhile)
        if state is LinkState.RECOVERING:
            self._recover()
        elif state is LinkState.ONLINE and self._sync_due():
            self._sync()

    def _beat(self) -> None:
        timeout = self._trip.timeout(self._timing.heartbeat_allowance)
        with self._lock:
            hint, self._hint = self._hint, None
        if hint is not None and self._state.state is not LinkState.ONLINE:
            timeout = max(timeout, hint)  # once: this beat's own answer is the sample
        started, sent = time.monotonic(), time.time()
        try:
            answer = self._link.heartbeat(self._origin, timeout)
        except TimedOut as exc:
            self._ask_patiently()
            self._beat_failed(str(exc))  # a beat that failed is no round trip (Karn)
            return
        except SyncError as exc:
            self._refusal("heartbeat", exc)
            self._beat_failed(str(exc))
            return
        received = time.time()  # before any of our own work: it would count as skew
        self._observe(time.monotonic() - started)
        self._succeeded()
        # the HLC first: once the skew is shown, the clock already sorts after central's
        server_hlc = answer.get("hlc")
        if isinstance(server_hlc, str) and server_hlc:
            self._hlc.observe(Timestamp.parse(server_hlc))
        server_ms = answer.get("time_ms")
        if isinstance(server_ms, int):
            self._skew_ms = server_ms - int((sent + received) / 2 * 1000)
            skewed = abs(self._skew_ms) > self._thresholds.max_skew_ms
            if skewed and not self._skew_alarmed:  # once per crossing, not once a heartbeat
                self._escalate("clock_skew", f"clock skew with central is {self._skew_ms} ms")
            self._skew_alarmed = skewed
        self._last_ok = datetime.now(UTC)
        try:
            self._after_beat(answer, timeout)
        except Exception as exc:  # a bug there must not stop the heartbeats: say so, beat on
            error = f"{type(exc).__name__}: {exc}"
            if error != self._after_error:  # once per distinct error, not once a second
                log.exception("the work after a heartbeat failed")
            self._after_error = error
        else:
            self._after_error = None

    def _survived(self, what: str, exc: Exception) -> None:
        """An error ended a step of ``what``, which goes on: logged once per distinct error."""
        error = f"{type(exc).__name__}: {exc}"
        if self._step_errors.get(what) != error:
            log.error("%s failed (it goes on): %s", what, error, exc_info=exc)
        self._step_errors[what] = error

    def _beat_failed(self, why: str) -> None:
        """A heartbeat failed: the link itself is down.

        That explains the sync failures before, and the cycle that the link's return starts
        must not wait for their backoff (see ``_back_off``).
        """
        self._sync_failures, self._sync_after = 0, float("-inf")
        self._failed(why)

    def _observe(self, seconds: float) -> None:
        with self._lock:
            self._trip = self._trip.observe(seconds)

    def _ask_patiently(self) -> None:
        """Ask central once more, waiting the longest any beat may wait (sync/patient.py)."""
        if self._patient is not None and not self._stop.is_set():
            self._patient.ask()

    def _hinted(self, wait: float) -> None:
        """A patient beat was answered: the next beat waits ``wait`` (once), and beats now."""
        with self._lock:
            self._hint = wait
        self._beat_wake.set()

    def _sync_due(self) -> bool:
        return self._log.has_unsent() or self._clock() >= self._next_pull

    def _sync(self) -> bool:
        """One cycle: whether it pulled, so the link carried it (a recovery is then over).

        A held queue pulled too (``QueueHeld`` comes after the pull): the link is fine, the push
        waits for IT. It is escalated once and backs off as a failed cycle does (0066).
        """
        progress = self._worker.progress
        try:
            self._last_cycle = self._worker.cycle()
        except SyncError as exc:
            self._refusal("sync", exc)
            moved = self._worker.progress != progress
            self._back_off(f"sync: {exc}", told=isinstance(exc, SyncRefused), moved=moved)
            self._failed(f"sync: {exc}", in_sync=True)
            return False
        except QueueHeld as exc:  # the cycle pulled: the link is fine, the queue waits for IT
            self._last_cycle = exc.report
            with self._lock:
                self._refused = None  # central let the pull in: a refusal is told anew
            self._sync_error(f"sync: {exc}")
            self._back_off(f"sync: {exc}", told=True, moved=False)  # as any failure (0066)
            return True
        except Exception as exc:  # a bug must not kill the sync thread: say so loudly, go on
            log.exception("sync cycle failed")
            error = f"sync: {type(exc).__name__}: {exc}"
            self._sync_error(error)
            self._back_off(error, told=True, moved=self._worker.progress != progress)
            return False
        self._sync_failures, self._sync_after = 0, float("-inf")
        self._failing_told = False
        with self._lock:
            self._refused = None  # let in: a refusal from now on is told anew
        self._next_pull = self._clock() + self._thresholds.pull_every
        return True

    def _sync_error(self, error: str) -> None:
        """A cycle ended for a reason other than the link: escalated once per distinct error."""
        if error != self._last_error:  # once per distinct error, not once per cycle
            self._escalate("sync_error", error)
        self._last_error = error

    def _back_off(self, error: str, *, told: bool, moved: bool) -> None:
        """A cycle failed: the next one waits, twice as long after each failure in a row.

        The sync thread only syncs once a heartbeat was answered, so a cycle that fails every
        time (central answering the push 5xx or refusing it, a push that always times out
        under load, a batch always found damaged) otherwise ran again at once, forever: a
        retry storm on central, and the staff banner flipping between offline and recovering
        several times a second. How long it waits: ``connectivity.sync_backoff``.

        What does not count: a cycle that ``moved`` (central answered a batch, or a page was
        taken, before it failed: a long drain timing out now and then is still draining),
        and failures before a heartbeat failed (the link was down, which explains them:
        ``_beat_failed`` clears them, so the cycle the link's return starts waits at most
        the first backoff). A run of failures that nothing else escalates is escalated once,
        at ``SYNC_FAILURES_ESCALATED`` (``sync_failing``), until a cycle goes through.
        """
        if moved:
            self._sync_failures = 0
        self._sync_failures += 1
        failures = self._sync_failures
        self._sync_after = self._clock() + sync_backoff(failures, self._timing, self._rng)
        if failures >= SYNC_FAILURES_ESCALATED and not told and not self._failing_told:
            self._failing_told = True
            self._escalate(
                "sync_failing",
                f"{failures} sync cycles failed in a row, each after central answered a "
                f"heartbeat; the last: {error}",
            )

    def _refusal(self, by: str, error: SyncError) -> None:
        """Escalate central refusing this edge, once per cause until a sync goes through.

        Central answered and said no (the edge's key revoked, a property no longer its own):
        no retry fixes that, IT must act, and an outage alert an hour later would name the
        wrong cause. The cause is central's problem code: a revoked key refuses the heartbeat,
        the push and the pull alike, and is told once. The link still counts as down for the
        state (nothing syncs).
        """
        if not isinstance(error, SyncRefused):
            return
        cause = error.code or str(error)
        with self._lock:
            told, self._refused = self._refused == cause, cause
        if not told:
            self._escalate("sync_refused", f"central refuses this edge's {by}: {error}")

    def _recover(self) -> None:
        if self._sync():
            try:
                self._reconcile()
            except Exception as exc:  # the sync is done: a failed check is escalated, not fatal
                log.exception("reconciliation after the recovery failed")
                self._escalate("reconcile_error", f"reconciliation: {type(exc).__name__}: {exc}")
            with self._lock:
                self._transition(on_recovered(self._state, self._clock(), self._timing))

    def _succeeded(self) -> None:
        with self._lock:
            was = self._state.state
            self._transition(on_success(self._state, self._clock()))
        if was is LinkState.OFFLINE:
            self._wake.set()  # the link is back: start the recovery sync now

    def _failed(self, why: str, *, in_sync: bool = False) -> None:
        self._last_error = why
        with self._lock:
            self._transition(on_failure(self._state, self._clock()))
        if in_sync:
            self._beat_wake.set()  # a sync call failed: probe now rather than at the next beat

    def _transition(self, link: Link) -> None:
        before = self._state.state
        if link.state is before:
            self._state = link
            seconds = self._outages.overdue(self._thresholds.outage_seconds)
            if seconds is not None:
                self._escalate("outage", f"central unreachable for {seconds} s")
            return
        now = datetime.now(UTC)
        log.warning("link %s → %s", before.value, link.state.value)
        self._outages.moved(link.state, now)  # before anyone can see the new state
        self._state = link
        if link.state is LinkState.OFFLINE:
            self._link.abort()  # a sync call stuck in a black hole must not delay recovery
        self._tell_link(link.state, now)

    def _tell_link(self, state: LinkState, at: datetime) -> None:
        self._hub.publish("link", {"state": state.value, "at": at.isoformat()})

    def _watch_queue(self) -> None:
        depth = self._log.pending_count()
        if depth != self._last_queue:
            self._hub.publish("queue", {"pending": depth})
            if depth >= self._thresholds.queue_depth > self._last_queue:
                self._escalate("queue", f"{depth} mutations wait for central")
            self._last_queue = depth

    def _escalate(self, kind: str, message: str) -> None:
        log.error("ESCALATION %s: %s", kind, message)
        now = datetime.now(UTC)
        self._outages.call(self._log.alert, kind, message, now)  # on the banner even if not kept
        self._hub.publish("alert", {"kind": kind, "message": message, "at": now.isoformat()})
