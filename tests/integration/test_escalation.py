"""Escalation: a long outage or a long queue is told once, in the log, the alerts and the banner.

The monitor runs for real (its threads, its state machine, the edge's SQLite) against a fake
central whose heartbeat is refused while the link is down, with small thresholds. The banner's
events are read from the edge's hub and from its real `/events` stream over HTTP. No step
waits a fixed time: each waits for what it expects, within a generous limit.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, cast

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from support.auth import bearer, provision_edge_keys, token_for
from support.browser import served
from support.hotel import Hotel, build_hotel
from support.nodes import edge_node, monitor_on_fake
from support.sync import wait_until
from yadori.bootstrap import Yadori
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.storage.tables import outbox
from yadori.sync import queue_guard
from yadori.sync.canonical import JSON
from yadori.sync.connectivity import LinkState
from yadori.sync.errors import LinkDown, SyncError, SyncRefused
from yadori.sync.monitor import Monitor
from yadori.sync.monitor_ports import OutageLog, Thresholds

Told = list[tuple[str, dict[str, JSON]]]


class SwitchedCentral:
    """A fake central: heartbeats are refused while ``down``; pushes and pulls take nothing."""

    def __init__(self, *, down: bool) -> None:
        self.down = down
        self.refusing: str | None = None  # central answers, and refuses the edge: why
        self.push_error: SyncError | None = None  # what every push raises, if set
        self.pull_error: SyncError | None = None  # what every pull raises, if set
        self.refused_property: str | None = None  # a property whose pulls central refuses
        self.beats = 0
        self.pushes = 0
        self.pulls = 0
        self._lock = threading.Lock()

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        with self._lock:
            self.beats += 1
        if self.refusing is not None:
            code = self.refusing.partition(":")[0]
            raise SyncRefused(f"GET /sync/v1/heartbeat: {self.refusing}", code)
        if self.down:
            raise LinkDown("GET /sync/v1/heartbeat: ConnectError: refused")
        return {"time_ms": time.time_ns() // 1_000_000, "hlc": ""}

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        with self._lock:
            self.pushes += 1
        if self.push_error is not None:
            raise self.push_error
        return {"results": []}

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        with self._lock:
            self.pulls += 1
        if self.pull_error is not None:
            raise self.pull_error
        if params["property"] == self.refused_property:
            raise SyncRefused("GET /sync/v1/pull: wrong_property: not enrolled", "wrong_property")
        return {"changes": [], "results": [], "cursor": 0, "results_no": 0, "more": False}

    def abort(self) -> None:
        """Nothing is in flight on a fake link."""


@dataclass
class Watched:
    """An edge with the small hotel, its monitor on a fake central, and what its hub told."""

    edge: Yadori
    hotel: Hotel
    headers: dict[str, str]  # a staff member's, logged in at the edge
    link: SwitchedCentral
    monitor: Monitor
    queued: int  # mutations waiting when the monitor started
    subscription: queue.Queue[dict[str, JSON]]
    history: Told = field(default_factory=list)

    def next(self, kind: str, seconds: float = 5) -> dict[str, JSON]:
        """The next event of that kind the hub tells (the others read are kept)."""
        deadline = time.monotonic() + seconds
        while True:
            event = self.subscription.get(timeout=max(0.01, deadline - time.monotonic()))
            assert isinstance(event["data"], dict)
            self.history.append((str(event["event"]), event["data"]))
            if event["event"] == kind:
                return event["data"]

    def told(self, kind: str) -> list[dict[str, JSON]]:
        """Every event of that kind the hub has told so far."""
        while not self.subscription.empty():
            event = self.subscription.get_nowait()
            assert isinstance(event["data"], dict)
            self.history.append((str(event["event"]), event["data"]))
        return [data for k, data in self.history if k == kind]

    def alerts(self, kind: str) -> list[dict[str, object]]:
        """The alerts of that kind the edge recorded."""
        assert self.edge.edge_store is not None
        return [a for a in self.edge.edge_store.alerts() if a["kind"] == kind]

    def beats_after(self, n: int) -> None:
        """Wait until ``n`` more heartbeats were made (each looks for escalations again)."""
        target = self.link.beats + n
        wait_until(lambda: self.link.beats >= target, 10)


class Start(Protocol):
    """Starts the watched edge: thresholds made from the queued depth, the monitor's clock."""

    def __call__(
        self, thresholds: Callable[[int], Thresholds], *, clock: Callable[[], float] = ...
    ) -> Watched:
        """The edge, its monitor started."""
        ...


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Start]:
    """Start an edge's monitor on a fake central that is down, with thresholds made from the
    depth of the queue at that moment (the hotel's set-up, a booking, a staff login)."""
    made: list[Yadori] = []

    def start(
        thresholds: Callable[[int], Thresholds], *, clock: Callable[[], float] = time.monotonic
    ) -> Watched:
        provision_edge_keys(tmp_path / "keys" / "edge1", "edge1")  # staff can log in
        edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
        made.append(edge)
        hotel = build_hotel(edge)
        hotel.book()
        headers = bearer(token_for(edge, hotel.property_id))
        assert edge.edge_store is not None
        queued = edge.edge_store.pending_count()
        subscription = edge.events.subscribe()  # before the monitor: all it tells
        link = SwitchedCentral(down=True)
        monitor = monitor_on_fake(edge, link, thresholds=thresholds(queued), clock=clock)
        return Watched(edge, hotel, headers, link, monitor, queued, subscription)

    yield start
    for edge in made:
        edge.close()


def escalations(caplog: pytest.LogCaptureFixture, kind: str) -> list[str]:
    """The escalation lines of that kind the sync logged."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "yadori.sync" and r.getMessage().startswith(f"ESCALATION {kind}")
    ]


# --- the outage log's disk fails ------------------------------------------------------------


class LockedOnce:
    """The edge's store, whose outage log and alerts fail once each ("database is locked")."""

    FAILING = ("open_outage", "link_back", "close_outage", "alert")

    def __init__(self, inner: EdgeSyncStore) -> None:
        self.inner = inner
        self.failed: list[str] = []

    def __getattr__(self, name: str) -> object:
        call = getattr(self.inner, name)
        if name not in self.FAILING or name in self.failed:
            return call

        def locked(*args: object) -> object:
            self.failed.append(name)
            raise OperationalError("INSERT INTO outages", {}, Exception("database is locked"))

        return locked


def test_a_store_that_fails_to_log_the_outage_stops_neither_the_heartbeats_nor_the_banner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The outage log's writes fail once each (a locked or full disk): the link still goes
    offline and back online, the banner is told both, the heartbeats go on, the outage past its
    threshold is still escalated (logged and told, its record failing), and the errors are
    logged. Before, the first failed write ended the heartbeat thread: the edge stayed online
    through the outage and never recovered."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        assert edge.edge_store is not None
        events = edge.events.subscribe()
        link = SwitchedCentral(down=False)
        store = LockedOnce(edge.edge_store)
        monitor = monitor_on_fake(
            edge, link, log_store=cast(OutageLog, store), thresholds=Thresholds(outage_seconds=0.3)
        )
        wait_until(lambda: link.beats >= 2, 10)
        link.down = True
        wait_until(lambda: monitor.state is LinkState.OFFLINE, 10)
        wait_until(lambda: any(e["event"] == "alert" for e in list(events.queue)), 10)
        beats = link.beats
        wait_until(lambda: link.beats >= beats + 3, 10)  # the heartbeats go on
        link.down = False
        wait_until(lambda: monitor.state is LinkState.ONLINE, 10)
        told = [(e["event"], e["data"]) for e in list(events.queue)]
        states = [d["state"] for k, d in told if k == "link" and isinstance(d, dict)]
        assert states[:3] == ["offline", "recovering", "online"]
        assert [d["kind"] for k, d in told if k == "alert" and isinstance(d, dict)] == ["outage"]
        assert store.failed == ["open_outage", "alert"]  # no outage row: nothing else to write
        assert escalations(caplog, "outage")
        assert any("database is locked" in r.getMessage() or r.exc_info for r in caplog.records)
    finally:
        edge.close()


def test_an_outage_the_edge_was_stopped_during_is_resumed_and_closed_by_the_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A power cut took the WAN and the edge: the outage logged before the stop has no end.
    Restarted with the WAN still down, the edge is offline, escalates the outage by its real
    length (it began an hour ago, the threshold is half that) at the first failed beat, then
    recovers when the link answers and closes that same outage. The banner is told it is
    offline at the start: before, nothing was told until the link came back."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        assert edge.edge_store is not None
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        outage_id = edge.edge_store.open_outage(hour_ago)  # the edge then stopped, mid-outage
        events = edge.events.subscribe()
        link = SwitchedCentral(down=True)
        monitor = monitor_on_fake(edge, link, thresholds=Thresholds(outage_seconds=1_800))
        assert monitor.state is LinkState.OFFLINE
        wait_until(lambda: bool(edge.edge_store and edge.edge_store.alerts()), 10)
        link.down = False
        wait_until(lambda: monitor.state is LinkState.ONLINE, 10)
        told = [(e["event"], e["data"]) for e in list(events.queue)]
        states = [d["state"] for k, d in told if k == "link" and isinstance(d, dict)]
        # offline from the start, told at once (a banner connecting then learns it); no new outage
        assert states == ["offline", "recovering", "online"]
        (logged,) = edge.edge_store.outages()
        assert logged["id"] == outage_id
        assert logged["ended_at"] is not None
        assert isinstance(logged["duration_ms"], int)
        assert 3_600_000 <= logged["duration_ms"] < 3_700_000
        assert [a["kind"] for a in edge.edge_store.alerts()] == ["outage"]
        assert escalations(caplog, "outage")
    finally:
        edge.close()


def test_an_old_outage_left_open_is_not_resumed(tmp_path: Path) -> None:
    """An outage whose end failed to be written ten days ago, and one closed since: the edge
    starts online and leaves both as they are."""
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        assert edge.edge_store is not None
        now = datetime.now(UTC)
        edge.edge_store.open_outage(now - timedelta(days=10))  # its close was never written
        later = edge.edge_store.open_outage(now - timedelta(days=1))
        edge.edge_store.close_outage(later, now - timedelta(days=1) + timedelta(minutes=5), 300)
        link = SwitchedCentral(down=False)
        monitor = monitor_on_fake(edge, link)
        assert monitor.state is LinkState.ONLINE
        wait_until(lambda: link.beats >= 3, 10)
        assert monitor.state is LinkState.ONLINE
        assert [o["duration_ms"] for o in edge.edge_store.outages()] == [300_000, None]
    finally:
        edge.close()


# --- a long outage --------------------------------------------------------------------------


def test_an_outage_past_its_threshold_escalates_once_not_once_per_heartbeat(
    watched: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Central refused for more than 0.3 s: one outage alert, recorded, told and logged,
    however many heartbeats fail after it."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    site = watched(lambda _: Thresholds(outage_seconds=0.3))
    assert site.next("link")["state"] == "offline"
    alert = site.next("alert")
    assert alert["kind"] == "outage"
    assert str(alert["message"]).startswith("central unreachable for ")
    site.beats_after(5)  # each failed beat looks at the outage's length again
    assert site.monitor.state is LinkState.OFFLINE
    assert site.told("alert") == [alert]
    (recorded,) = site.alerts("outage")
    assert (recorded["message"], recorded["at"]) == (alert["message"], alert["at"])
    (line,) = escalations(caplog, "outage")
    assert line == f"ESCALATION outage: {alert['message']}"


def test_an_outage_shorter_than_its_threshold_does_not_escalate(
    watched: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Offline for a few heartbeats, far below the hour: no alert, no escalation line."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    site = watched(lambda _: Thresholds(outage_seconds=3_600))
    assert site.next("link")["state"] == "offline"
    site.beats_after(5)
    assert site.alerts("outage") == []
    assert site.told("alert") == []
    assert escalations(caplog, "outage") == []


def test_the_next_long_outage_escalates_again(watched: Start) -> None:
    """Once the link is back and the recovery sync done, a new long outage is told anew."""
    site = watched(lambda _: Thresholds(outage_seconds=0.3))
    assert site.next("alert")["kind"] == "outage"
    site.link.down = False
    wait_until(lambda: site.monitor.state is LinkState.ONLINE, 10)
    site.link.down = True
    assert site.next("alert")["kind"] == "outage"
    assert len(site.alerts("outage")) == 2
    outages = site.edge.sync_status()["outages"]
    assert isinstance(outages, list)
    assert [isinstance(o, dict) and o["ended_at"] is None for o in outages] == [True, False]


class SetClock:
    """The monitor's monotonic clock, which the test can move on (the wall clock stays)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.ahead


def test_an_outage_is_timed_by_the_monitors_clock_not_the_wall_clock(watched: Start) -> None:
    """An hour passes by the monitor's own (monotonic) clock while the wall clock shows only a
    second or so: the hour's outage is escalated, and logged an hour long. Timed by the wall
    clock, an outage across a clock set back (NTP correcting a drifted edge) would go untold,
    and its length be logged wrong, even negative."""
    clock = SetClock()
    site = watched(lambda _: Thresholds(outage_seconds=3_600), clock=clock)
    assert site.next("link")["state"] == "offline"
    site.beats_after(2)
    assert site.alerts("outage") == []
    clock.ahead = 3_601.0
    alert = site.next("alert")
    assert alert["kind"] == "outage"
    assert str(alert["message"]).startswith("central unreachable for 36")
    site.link.down = False
    wait_until(lambda: site.monitor.state is LinkState.ONLINE, 10)
    outages = site.edge.sync_status()["outages"]
    assert isinstance(outages, list)
    (outage,) = outages
    assert isinstance(outage, dict)
    assert 3_600_000 <= int(str(outage["duration_ms"])) < 3_700_000


# --- central refusing the edge ----------------------------------------------------------------


def test_central_refusing_the_edge_escalates_at_once_and_once_per_refusal(
    watched: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Central answers the heartbeat and refuses the edge (its key revoked): no retry fixes
    that. It is escalated at once, with central's reason, not an hour later as an outage that
    names the wrong cause; once however many beats are refused, and again when the same
    refusal comes back after the edge was let in (a sync went through)."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    site = watched(lambda _: Thresholds(outage_seconds=3_600))
    site.link.refusing = "node_unauthenticated: key k1 has been revoked"
    alert = site.next("alert")
    assert alert["kind"] == "sync_refused"
    assert alert["message"] == (
        "central refuses this edge's heartbeat: GET /sync/v1/heartbeat: node_unauthenticated: "
        "key k1 has been revoked"
    )
    site.beats_after(5)
    assert site.monitor.state is LinkState.OFFLINE  # nothing syncs meanwhile
    assert site.told("alert") == [alert]
    assert [a["message"] for a in site.alerts("sync_refused")] == [alert["message"]]
    assert escalations(caplog, "sync_refused") == [f"ESCALATION sync_refused: {alert['message']}"]
    site.link.refusing, site.link.down = None, False  # let in again (a new key enrolled)
    wait_until(lambda: site.monitor.state is LinkState.ONLINE, 10)
    site.link.refusing = "node_unauthenticated: key k1 has been revoked"
    assert site.next("alert")["kind"] == "sync_refused"
    assert len(site.alerts("sync_refused")) == 2


def test_a_sync_that_fails_while_heartbeats_answer_backs_off_and_escalates_once(
    watched: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Central answers every heartbeat and every push with a 500 (a bug at central, say). The
    edge waits longer after each failed cycle instead of pushing again at once, and tells IT
    once (``sync_failing``). Before, each answered beat started a cycle at once: hundreds of
    pushes and link changes a second, for as long as the bug lasted. Once a cycle goes
    through, the waits start small again."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    site = watched(lambda _: Thresholds(outage_seconds=3_600))
    site.link.push_error = LinkDown("POST /sync/v1/push: central answered 500")
    site.link.down = False
    alert = site.next("alert")
    assert alert["kind"] == "sync_failing"
    assert "5 sync cycles failed in a row" in str(alert["message"])
    assert "central answered 500" in str(alert["message"])
    pushes, started = site.link.pushes, time.monotonic()
    time.sleep(2.0)
    # 0.05 s after the first failure (FAST timing), doubling: the 6th, 7th and maybe the 8th
    assert site.link.pushes - pushes <= 4, "the cycles did not back off"
    assert time.monotonic() - started >= 2.0
    assert len(site.alerts("sync_failing")) == 1
    assert len(escalations(caplog, "sync_failing")) == 1
    changes = len(site.told("link"))
    assert changes <= 2 * site.link.pushes + 2  # offline and recovering once per cycle at most
    site.link.push_error = None
    wait_until(lambda: site.monitor.state is LinkState.ONLINE, 40)  # a cycle went through
    site.link.push_error = LinkDown("POST /sync/v1/push: central answered 500")
    site.hotel.book()  # something to push again
    wait_until(lambda: len(site.alerts("sync_failing")) == 2, 5)  # counted from 0 again


def test_cycles_that_move_the_queue_before_failing_do_not_back_off(tmp_path: Path) -> None:
    """Every push is answered, every pull then fails (a long drain whose pulls time out now and
    then, say): each cycle moved the queue, so none waits longer than the first backoff and
    nothing is escalated as failing."""
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        hotel = build_hotel(edge)
        hotel.book()
        link = SwitchedCentral(down=False)
        link.pull_error = LinkDown("GET /sync/v1/pull: ReadTimeout")
        monitor_on_fake(edge, link, properties=(hotel.property_id,))
        wait_until(lambda: link.pushes >= 1, 5)
        pushes = link.pushes
        time.sleep(2.0)
        # without the progress rule: at most 4 (as in the test above); here several a second
        assert link.pushes - pushes >= 8
        assert edge.edge_store is not None
        assert [a for a in edge.edge_store.alerts() if a["kind"] == "sync_failing"] == []
    finally:
        edge.close()


def test_an_empty_page_before_a_refused_pull_is_no_progress(tmp_path: Path) -> None:
    """An edge of two properties whose second pull central refuses (it left that property,
    decision 0056's example): the first property's page is empty, which moved nothing, so the
    cycles back off and the refusal is told once. Before, any page taken counted as progress:
    the wait never grew past its first step, a cycle every 0.05 s here for as long as it
    lasted."""
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        hotel = build_hotel(edge)
        with edge.engine.begin() as conn:  # its set-up synced long ago: nothing to push
            conn.execute(sa.update(outbox).values(state="done", result="applied"))
        link = SwitchedCentral(down=False)
        link.refused_property = "gone"
        monitor_on_fake(edge, link, properties=(hotel.property_id, "gone"))
        wait_until(lambda: link.pulls >= 10, 10)  # the waits grow: 0.05 s, doubled each time
        pulls = link.pulls
        time.sleep(2.0)
        assert link.pulls - pulls <= 6, "the cycles did not back off"  # 3 pulls a cycle at most
        assert edge.edge_store is not None
        refused = [a for a in edge.edge_store.alerts() if a["kind"] == "sync_refused"]
        assert len(refused) == 1
    finally:
        edge.close()


def _held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Yadori, Hotel, int]:
    """An edge (no monitor yet) whose every queued mutation is damaged at rest, past a brake of
    one: its queue will be held (``QueueHeld``). And how many are queued."""
    monkeypatch.setattr(queue_guard, "MAX_SET_ASIDE", 1)
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    hotel = build_hotel(edge)
    hotel.book()
    assert edge.edge_store is not None
    with edge.engine.begin() as conn:  # unreadable
        conn.execute(sa.update(outbox).values(args="{"))
    return edge, hotel, edge.edge_store.pending_count()


def test_a_held_queue_ends_the_recovery_is_told_once_and_backs_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """More queued mutations cannot be sent than the brake allows (``QueueHeld``, decisions
    0051, 0065) when the link comes back. The cycle still pulls, so the link is fine: the
    recovery ends online and closes the outage, the hold is told once, and the cycles back off
    as failed ones do while IT looks; nothing is set aside or lost. Before, every cycle's
    (empty) page counted as progress: the edge stayed recovering for as long as the queue was
    held, with heightened heartbeats, an outage that never closed, and a cycle four times a
    second."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    edge, hotel, queued = _held(tmp_path, monkeypatch)
    try:
        assert edge.edge_store is not None
        link = SwitchedCentral(down=True)
        monitor = monitor_on_fake(edge, link, properties=(hotel.property_id,))
        wait_until(lambda: monitor.state is LinkState.OFFLINE and bool(edge.edge_store
                   and edge.edge_store.outages()), 10)  # fmt: skip
        link.down = False
        wait_until(lambda: monitor.state is LinkState.ONLINE, 10)
        (outage,) = edge.edge_store.outages()
        assert outage["ended_at"] is not None
        wait_until(lambda: link.pulls >= 6, 10)  # the waits grow: 0.05 s, doubled each time
        pulls = link.pulls
        time.sleep(2.0)
        assert link.pulls - pulls <= 3, "the held cycles did not back off"
        assert monitor.state is LinkState.ONLINE
        assert link.pushes == 0
        (held,) = [a for a in edge.edge_store.alerts() if a["kind"] == "sync_error"]
        assert "more than a disk fault or an odd operation explains" in str(held["message"])
        assert len(escalations(caplog, "sync_error")) == 1
        assert edge.edge_store.pending_count() == queued
        assert edge.sync_status()["rejected"] == []
        last = monitor.snapshot().last_cycle  # the held cycles pulled: the status shows them
        assert last is not None
        assert last.pushed == 0
    finally:
        edge.close()


def test_a_refusal_after_a_held_cycle_that_pulled_is_told_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Central refuses the pulls (told once), then lets them in while the queue is held, then
    refuses again: the held cycles pulled, so the second refusal is a new one and told too.
    Before, a held cycle did not clear the refusal remembered, and the second went untold."""
    edge, hotel, _ = _held(tmp_path, monkeypatch)
    try:
        link = SwitchedCentral(down=False)
        refused = SyncRefused("GET /sync/v1/pull: node_revoked: revoked", "node_revoked")
        link.pull_error = refused
        monitor_on_fake(edge, link, properties=(hotel.property_id,))

        def told() -> list[dict[str, JSON]]:
            assert edge.edge_store is not None
            return [a for a in edge.edge_store.alerts() if a["kind"] == "sync_refused"]

        wait_until(lambda: len(told()) == 1, 10)
        link.pull_error = None  # let in: the cycles pull, and the queue is held
        wait_until(lambda: any(a["kind"] == "sync_error" for a in edge.edge_store.alerts()), 10)  # type: ignore[union-attr]
        pulls = link.pulls
        wait_until(lambda: link.pulls > pulls, 10)  # a held cycle that pulled
        link.pull_error = refused
        wait_until(lambda: len(told()) == 2, 10)
    finally:
        edge.close()


def test_a_real_outage_clears_the_backoff_of_the_failures_before_it(watched: Start) -> None:
    """Pushes fail until the wait before the next cycle is over 5 s; then the link goes down
    (heartbeats fail) and comes back with the push fixed: the recovery starts at once, not
    when that wait would have ended (issue 3: link back → sync started within 2 s)."""
    site = watched(lambda _: Thresholds(outage_seconds=3_600))
    site.link.push_error = LinkDown("POST /sync/v1/push: central answered 500")
    site.link.down = False
    wait_until(lambda: site.link.pushes >= 8, 15)  # the next wait: 0.05 × 2⁷ s, less jitter
    site.link.down = True
    beats = site.link.beats
    wait_until(lambda: site.link.beats >= beats + 2, 5)  # the outage is seen
    pushes = site.link.pushes
    site.link.push_error, site.link.down = None, False
    back = time.monotonic()
    wait_until(lambda: site.link.pushes > pushes, 10)
    assert time.monotonic() - back < 2.0


# --- a long queue ---------------------------------------------------------------------------


def streamed(
    url: str,
    headers: dict[str, str],
    meanwhile: Callable[[], None],
    until: Callable[[Told], bool],
) -> Told:
    """The events the edge's `/events` stream sends, from connecting until ``until`` holds.

    ``meanwhile`` runs once the stream is connected (the edge has subscribed it to its hub).
    """
    seen: Told = []
    with httpx2.stream("GET", f"{url}/events", headers=headers, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        meanwhile()
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line.removeprefix("data: "))))
                if until(seen):
                    break
    return seen


def test_a_queue_past_its_depth_escalates_once_and_every_depth_is_told(
    watched: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Five charges queued one by one, the threshold three past the start: each depth is told
    on the hub and through `/events`; crossing it records, tells and logs one queue alert."""
    caplog.set_level(logging.WARNING, logger="yadori.sync")
    site = watched(lambda queued: Thresholds(queue_depth=queued + 3))
    start = site.queued
    assert site.next("queue") == {"pending": start}

    def five_charges() -> None:
        folio_id = site.hotel.folio_id(site.hotel.book())  # the booking is one more
        assert site.next("queue") == {"pending": start + 1}
        for n in range(2, 6):
            site.hotel.charges([1_000 + n], folio_id)
            assert site.next("queue") == {"pending": start + n}

    with served(site.edge) as url:
        seen = streamed(
            url, site.headers, five_charges, lambda seen: ("queue", {"pending": start + 5}) in seen
        )
    (alert,) = site.told("alert")
    assert alert["kind"] == "queue"
    assert alert["message"] == f"{start + 3} mutations wait for central"
    (recorded,) = site.alerts("queue")
    assert recorded["message"] == alert["message"]
    assert escalations(caplog, "queue") == [f"ESCALATION queue: {alert['message']}"]
    depths = [data["pending"] for kind, data in seen if kind == "queue"]
    assert depths == [start + n for n in range(6)]  # the latest depth first, on connecting
    assert [data for kind, data in seen if kind == "alert"] == [alert]
