"""A beat that timed out is asked again, patiently, and teaches the monitor the link's speed.

The monitor runs for real (its threads, its state machine) against a fake central whose every
heartbeat takes a set time: a wait shorter than that times out, as httpx would. The real link
is tested in tests/chaos/test_sync_faults.py (through the fault proxy).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.nodes import edge_node, monitor_on_fake
from support.sync import wait_until
from yadori.bootstrap import Yadori
from yadori.sync.canonical import JSON
from yadori.sync.connectivity import ROUND_TRIP_ALLOWANCE_CAP, LinkState
from yadori.sync.errors import LinkDown, TimedOut
from yadori.sync.monitor import Monitor


class SlowCentral:
    """Central at the end of a link whose heartbeats take ``seconds`` (None: refused)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.waits: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.closed = False
        self._lock = threading.Lock()

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        wait = 0.4 if timeout is None else timeout
        with self._lock:
            self.waits.append(wait)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.seconds is None:
                raise LinkDown("GET /sync/v1/heartbeat: ConnectError: refused")
            if wait < self.seconds:
                time.sleep(wait)
                raise TimedOut("GET /sync/v1/heartbeat: ReadTimeout: timed out")
            time.sleep(self.seconds)
            return {"time_ms": time.time_ns() // 1_000_000, "hlc": ""}
        finally:
            with self._lock:
                self.in_flight -= 1

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return {"results": []}

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        return {"changes": [], "results": [], "cursor": 0, "results_no": 0, "more": False}

    def abort(self) -> None:
        """Nothing to abort on a fake link."""

    def close(self) -> None:
        self.closed = True


class BlipCentral(SlowCentral):
    """A 5 ms link that is a black hole until ``until`` (monotonic): a request sent into it is
    answered when the path returns, if its wait lasts that long (TCP delivers it late)."""

    def __init__(self, until: float) -> None:
        super().__init__(0.005)
        self.until = until

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        wait = 0.4 if timeout is None else timeout
        held = self.until - time.monotonic()
        if held <= 0:
            return super().heartbeat(origin, timeout)
        with self._lock:
            self.waits.append(wait)
        if wait < held:
            time.sleep(wait)
            raise TimedOut("GET /sync/v1/heartbeat: ReadTimeout: timed out")
        time.sleep(held + 0.005)
        return {"time_ms": time.time_ns() // 1_000_000, "hlc": ""}


@pytest.fixture
def monitor_on(
    tmp_path: Path,
) -> Iterator[Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]]]:
    """Start an edge's monitor on a (slow) fake link, with or without a patient one."""
    made: list[Yadori] = []

    def start(link: SlowCentral, patient: SlowCentral | None) -> tuple[Yadori, Monitor]:
        edge = edge_node(tmp_path, "http://127.0.0.1:9", (), name=f"edge{len(made) + 1}")
        made.append(edge)
        return edge, monitor_on_fake(edge, link, patient=patient)

    yield start
    for edge in made:
        edge.close()


def test_a_link_slower_than_the_allowance_is_learnt_and_comes_online(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """Beats take 0.6 s, past the 0.4 s allowance; the patient beat waits 2 s and is answered."""
    patient = SlowCentral(0.6)
    _, monitor = monitor_on(SlowCentral(0.6), patient)
    wait_until(lambda: monitor.state is LinkState.OFFLINE, 5)
    wait_until(lambda: monitor.state is LinkState.ONLINE, 10)
    snap = monitor.snapshot()
    assert (snap.round_trip_ms or 0) >= 550
    assert snap.heartbeat_timeout_ms >= 400 + 2 * 550
    assert patient.waits
    assert set(patient.waits) == {0.4 + ROUND_TRIP_ALLOWANCE_CAP}
    assert patient.most_in_flight == 1  # one at a time, however many beats timed out
    time.sleep(1.0)  # the regular beats now fit
    assert monitor.state is LinkState.ONLINE, monitor.snapshot().last_error


def test_without_a_patient_link_the_slow_link_stays_offline(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """What the patient beat changes: only answered beats teach, and none is answered."""
    _, monitor = monitor_on(SlowCentral(0.6), None)
    wait_until(lambda: monitor.state is LinkState.OFFLINE, 5)
    time.sleep(2.0)
    assert monitor.state is LinkState.OFFLINE
    assert monitor.snapshot().round_trip_ms is None


def test_a_refused_link_is_not_asked_patiently(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """Only a beat left unanswered may be a slow link; a refused one is down."""
    patient = SlowCentral(0.01)
    _, monitor = monitor_on(SlowCentral(None), patient)
    wait_until(lambda: monitor.state is LinkState.OFFLINE, 5)
    time.sleep(1.0)
    assert patient.waits == []


def test_a_patient_beat_slower_than_any_wait_teaches_nothing_and_stopping_closes_it(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """Past the longest wait the link is as good as dead: offline, no round trip learnt."""
    patient = SlowCentral(2.5)
    _, monitor = monitor_on(SlowCentral(2.5), patient)
    wait_until(lambda: bool(patient.waits), 5)
    wait_until(lambda: patient.in_flight == 0, 5)
    assert monitor.state is LinkState.OFFLINE
    assert monitor.snapshot().round_trip_ms is None
    monitor.stop()
    assert patient.closed


def test_an_answer_held_in_a_black_hole_is_not_taken_for_the_link_s_speed(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """A 1.5 s blip on a 5 ms link; the patient beat, sent into it, is answered as it ends.

    That answer took about 1.1 s, but the link is fast: it only lets the next beat wait longer,
    and that beat's own answer (5 ms) is what the round trip learns. Taken as a sample, it
    would have made every beat wait about 2 s, and a hang noticed only after that.
    """
    until = time.monotonic() + 1.5
    patient = BlipCentral(until)
    _, monitor = monitor_on(BlipCentral(until), patient)
    wait_until(lambda: monitor.state is LinkState.OFFLINE, 5)
    wait_until(lambda: monitor.state is LinkState.ONLINE, 10)
    assert patient.waits  # it was asked, in the blip
    time.sleep(0.5)
    assert (monitor.snapshot().round_trip_ms or 0) <= 400  # no late answer beyond a beat's wait


def test_patient_beats_are_spaced(
    monitor_on: Callable[[SlowCentral, SlowCentral | None], tuple[Yadori, Monitor]],
) -> None:
    """A long black hole asks patiently once per PATIENT_EVERY, not after every beat."""
    patient = SlowCentral(5.0)
    _, monitor = monitor_on(SlowCentral(5.0), patient)
    wait_until(lambda: bool(patient.waits), 5)
    time.sleep(3.0)  # the first is over after 2 s; many beats time out meanwhile
    assert len(patient.waits) == 1
    assert monitor.state is LinkState.OFFLINE
