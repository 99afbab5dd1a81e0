"""Clocks: edges whose wall clock is 10 minutes off, or jumps back; skew as the monitor sees it.

The edge's hybrid logical clock reads its wall time through ``yadori.bootstrap.wall_ms``; the
tests skew it for one edge only (central is a real process with the machine's clock) by
patching that function while the edge is bootstrapped. Causality must survive: whatever an
edge writes after it has seen central's data carries a later HLC than central's, and no node
ever issues an HLC older than one it issued or saw. The skew measurement is tested through the
monitor with a fake heartbeat, since central's own clock cannot be moved.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import yadori.bootstrap
from support.hotel import Hotel, build_hotel
from support.nodes import CentralProcess, central_process, edge_node, monitor_on_fake
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.checksums import property_checksums
from yadori.storage.engine import make_engine
from yadori.storage.tables import outbox, rooms, sync_applied
from yadori.sync.canonical import JSON
from yadori.sync.hlc import Timestamp
from yadori.sync.http_transport import HttpTransport
from yadori.sync.key_refresh import KeyRefresh
from yadori.sync.monitor import Monitor
from yadori.sync.monitor_ports import Thresholds
from yadori.sync.mutation import Mutation
from yadori.sync.worker import SyncWorker

pytestmark = [
    # support/nodes.py leaves central's log file for the garbage collector (reported)
]

TEN_MINUTES_MS = 600_000
REAL_WALL_MS = yadori.bootstrap.wall_ms


class Wall:
    """A wall clock in milliseconds, off from the machine's by ``offset_ms`` (settable)."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return REAL_WALL_MS() + self.offset_ms


@dataclass
class Site:
    """Central (the machine's clock) with the small hotel, and its database for checks."""

    central: CentralProcess
    engine: Engine
    hotel: Hotel
    code: str
    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    def edge(self, wall: Wall, name: str = "edge1") -> tuple[Yadori, Hotel]:
        """An edge whose HLC reads ``wall``, not yet synced."""
        with self.monkeypatch.context() as patch:
            patch.setattr(yadori.bootstrap, "wall_ms", wall)
            node = edge_node(self.tmp, self.central.url, (self.hotel.property_id,), name=name)
        return node, dataclasses.replace(self.hotel, node=node)

    def central_hlc(self) -> Timestamp:
        """Central's HLC now, from its heartbeat."""
        answer = httpx2.get(f"{self.central.url}/sync/v1/heartbeat", params={"origin": "test"})
        return Timestamp.parse(answer.json()["hlc"])

    def set_condition(self, room: str, condition: str) -> None:
        """Head office changes a room's condition through central's API."""
        response = httpx2.post(
            f"{self.central.url}/api/v1/properties/{self.code}/rooms/{self.hotel.rooms[room]}"
            "/condition",
            json={"condition": condition},
            headers=self.central.staff_headers(self.hotel.property_id),
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def site(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """Central on a fresh PostgreSQL with the small hotel."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    code = node.directory.codes()[0]
    node.close()
    engine = make_engine(pg_url)
    with central_process(pg_url, tmp_path) as central:
        try:
            yield Site(central, engine, hotel, code, tmp_path, monkeypatch)
        finally:
            engine.dispose()


class _Recording:
    """The edge's transport, keeping central's HLC from each pull answer."""

    def __init__(self, inner: HttpTransport) -> None:
        self._inner = inner
        self.pulled_hlc: list[Timestamp] = []

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return self._inner.push(body, crc)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        answer = self._inner.pull(params)
        self.pulled_hlc.append(Timestamp.parse(str(answer["hlc"])))
        return answer


def recording_worker(edge: Yadori, hotel: Hotel) -> tuple[SyncWorker, _Recording]:
    """The edge's worker with a transport that remembers central's HLCs."""
    assert edge.edge_store is not None
    assert edge.transport is not None
    recording = _Recording(edge.transport)
    worker = SyncWorker(
        edge.edge_store,
        recording,
        origin=edge.config.node_id,
        properties=lambda: [hotel.property_id],
        hlc=edge.bus.hlc,
        now=lambda: datetime.now(UTC),
    )
    return worker, recording


def assert_converged(site: Site, edge: Yadori) -> None:
    """The edge holds central's data; each of its mutations was applied, none rejected."""
    pid = site.hotel.property_id
    with edge.engine.connect() as mine, site.engine.connect() as theirs:
        assert property_checksums(mine, pid) == property_checksums(theirs, pid)
        made = mine.execute(sa.select(outbox.c.id, outbox.c.state)).all()
        results = dict(
            theirs.execute(sa.select(sync_applied.c.mutation_id, sync_applied.c.result)).all()
        )
    assert {state for _, state in made} == {"done"}
    assert {results[i] for i, _ in made} <= {"applied", "applied_with_changes"}


def stamp_of(engine: Engine, room_id: str) -> str:
    """The HLC of the last write to a room's register."""
    with engine.connect() as conn:
        return str(conn.execute(sa.select(rooms.c.stamp_hlc).where(rooms.c.id == room_id)).scalar())


def front_desk(hotel: Hotel, room: str) -> list[Mutation]:
    """A walk-in checked in to a twin room, a charge, a payment, and room 102 reported dirty."""
    stay = hotel.check_in(hotel.book(nights=1, room_type=hotel.twn), room)
    folio = hotel.folio_id(stay)
    charge = c.PostCharge(
        folio_id=folio, line_id=new_id(), category="minibar", description="tea", amount=400
    )
    payment = c.PostPayment(folio_id=folio, line_id=new_id(), method="card", amount=400)
    dirty = c.SetRoomCondition(room_id=hotel.rooms["102"], condition=Condition.DIRTY)
    return [hotel.run(cmd).mutation for cmd in (charge, payment, dirty)]


# --- skewed edges -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("offset_ms", [-TEN_MINUTES_MS, TEN_MINUTES_MS], ids=["behind", "ahead"])
def test_a_skewed_edge_syncs_and_keeps_causality(site: Site, offset_ms: int) -> None:
    """An edge 10 minutes behind or ahead converges, and HLC order follows causality both ways."""
    edge, hotel = site.edge(Wall(offset_ms))
    try:
        worker, recording = recording_worker(edge, hotel)
        site.set_condition("103", "dirty")
        worker.cycle()
        seen = max(recording.pulled_hlc)
        clean = c.SetRoomCondition(room_id=hotel.rooms["103"], condition=Condition.CLEAN)
        made = [*front_desk(hotel, "201"), hotel.run(clean).mutation]
        assert all(Timestamp.parse(m.hlc) > seen for m in made)
        worker.cycle()
        newest = max(Timestamp.parse(m.hlc) for m in made)
        assert site.central_hlc() > newest  # central observed the edge's HLC
        assert stamp_of(site.engine, hotel.rooms["103"]) == made[-1].hlc  # the edge's write won
        site.set_condition("104", "dirty")
        assert stamp_of(site.engine, hotel.rooms["104"]) > made[-1].hlc
        worker.cycle()
        assert_converged(site, edge)
    finally:
        edge.close()


@pytest.mark.postgres
def test_a_wall_clock_jumping_back_keeps_the_hlc_monotonic(site: Site) -> None:
    """The clock jumps back an hour, then the edge restarts: its HLCs keep growing, all apply."""
    wall = Wall(0)
    edge, hotel = site.edge(wall)
    try:
        edge.worker.cycle()  # type: ignore[union-attr]
        front_desk(hotel, "201")
        wall.offset_ms = -3_600_000
        front_desk(hotel, "202")
    finally:
        edge.close()
    edge, hotel = site.edge(wall)  # restarted with the clock still an hour behind
    try:
        after_restart = hotel.run(
            c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY)
        )
        with edge.engine.connect() as conn:
            stamps = list(conn.execute(sa.select(outbox.c.hlc).order_by(outbox.c.seq)).scalars())
        assert stamps[-1] == after_restart.mutation.hlc
        parsed = [Timestamp.parse(s) for s in stamps]
        assert parsed == sorted(parsed)
        assert len(set(parsed)) == len(parsed) == 11
        assert parsed[-1].wall_ms > wall() + 3_000_000  # still ahead of the clock that went back
        edge.worker.cycle()  # type: ignore[union-attr]
        assert_converged(site, edge)
    finally:
        edge.close()


@pytest.mark.postgres
def test_a_restarted_edge_never_issues_an_hlc_older_than_one_it_saw(site: Site) -> None:
    """An edge restarted after a pull never stamps a write earlier than central's HLC it saw."""
    edge, hotel = site.edge(Wall(-TEN_MINUTES_MS))
    try:
        worker, recording = recording_worker(edge, hotel)
        worker.cycle()
        seen = max(recording.pulled_hlc)
    finally:
        edge.close()
    edge, hotel = site.edge(Wall(-TEN_MINUTES_MS))
    try:
        cmd = c.SetRoomCondition(room_id=hotel.rooms["101"], condition=Condition.DIRTY)
        assert Timestamp.parse(hotel.run(cmd).mutation.hlc) > seen
    finally:
        edge.close()


# --- skew as the monitor measures it ------------------------------------------------------


class FakeCentral:
    """A heartbeat answering with central's clock off by ``offset_ms``, and an empty link."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms
        self.last_hlc: Timestamp | None = None

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        now = REAL_WALL_MS() + self.offset_ms
        self.last_hlc = Timestamp(now, 3, "central")
        return {"time_ms": now, "hlc": str(self.last_hlc)}

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return {"results": []}

    def abort(self) -> None:
        """Nothing is in flight on a fake link."""

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        return {"changes": [], "results": [], "cursor": 0, "results_no": 0, "more": False}


@pytest.fixture
def skewed_central(tmp_path: Path) -> Iterator[Callable[[int], tuple[Yadori, Monitor]]]:
    """Start an edge's monitor against a fake central whose clock is off by some ms."""
    made: list[Yadori] = []

    def start(offset_ms: int) -> tuple[Yadori, Monitor]:
        edge = edge_node(tmp_path, "http://127.0.0.1:9", (), name=f"edge{len(made) + 1}")
        made.append(edge)
        monitor = monitor_on_fake(
            edge, FakeCentral(offset_ms), thresholds=Thresholds(max_skew_ms=5_000)
        )
        return edge, monitor

    yield start
    for edge in made:
        edge.close()


def _wait_for_skew(edge: Yadori) -> int:
    deadline = time.monotonic() + 5
    while edge.sync_status()["skew_ms"] is None:
        assert time.monotonic() < deadline, "the monitor never measured the skew"
        time.sleep(0.01)
    skew = edge.sync_status()["skew_ms"]
    assert isinstance(skew, int)
    return skew


def _alerts(events: queue.Queue[dict[str, JSON]]) -> list[dict[str, JSON]]:
    found = []
    while not events.empty():
        event = events.get_nowait()
        if event["event"] == "alert":
            assert isinstance(event["data"], dict)
            found.append(event["data"])
    return found


@pytest.mark.parametrize("offset_ms", [-TEN_MINUTES_MS, TEN_MINUTES_MS], ids=["behind", "ahead"])
def test_the_monitor_measures_a_10_minute_skew_and_raises_an_alarm(
    skewed_central: Callable[[int], tuple[Yadori, Monitor]], offset_ms: int
) -> None:
    """Central 10 minutes off: the skew shows in /sync/status and raises a clock_skew alert."""
    edge, monitor = skewed_central(offset_ms)
    events = edge.events.subscribe()
    skew = _wait_for_skew(edge)
    assert abs(skew - offset_ms) < 250
    assert edge.edge_store is not None
    store = edge.edge_store
    # the skew is shown before the alert is written and told: wait for them, do not guess
    told: list[dict[str, JSON]] = []
    deadline = time.monotonic() + 5
    while not (store.alerts() and any(a["kind"] == "clock_skew" for a in told)):
        assert time.monotonic() < deadline, "no clock_skew alert within 5 s"
        told += _alerts(events)
        time.sleep(0.02)
    (first, *_) = store.alerts()
    assert first["kind"] == "clock_skew"
    assert "clock skew with central" in str(first["message"])
    assert edge.bus.hlc.last.wall_ms >= REAL_WALL_MS() + max(0, offset_ms) - 5_000
    assert monitor.snapshot().skew_ms == edge.sync_status()["skew_ms"]


def test_a_small_skew_is_shown_but_raises_no_alarm(
    skewed_central: Callable[[int], tuple[Yadori, Monitor]],
) -> None:
    """Two seconds of skew is within the 5 s allowed: shown, no alert."""
    edge, _ = skewed_central(2_000)
    skew = _wait_for_skew(edge)
    assert 1_750 < skew < 2_250
    time.sleep(0.3)
    assert edge.edge_store is not None
    assert edge.edge_store.alerts() == []


def test_a_heartbeat_from_a_central_ahead_moves_the_edges_hlc_past_it(
    skewed_central: Callable[[int], tuple[Yadori, Monitor]],
) -> None:
    """After a heartbeat from a central 10 minutes ahead, the edge's next HLC sorts after it."""
    edge, _ = skewed_central(TEN_MINUTES_MS)
    _wait_for_skew(edge)
    seen = Timestamp.parse(str(edge.bus.hlc.last))
    assert seen.wall_ms > REAL_WALL_MS() + TEN_MINUTES_MS - 5_000
    assert edge.bus.hlc.now() > seen


def test_a_lasting_skew_raises_one_alarm_not_one_per_heartbeat(
    skewed_central: Callable[[int], tuple[Yadori, Monitor]],
) -> None:
    """Ten minutes of skew for a second (about five heartbeats): one alert."""
    edge, _ = skewed_central(TEN_MINUTES_MS)
    _wait_for_skew(edge)
    time.sleep(1.0)
    assert edge.edge_store is not None
    assert len([a for a in edge.edge_store.alerts() if a["kind"] == "clock_skew"]) == 1


class RekeyingCentral(FakeCentral):
    """A central whose key list changes at every beat and takes ``slow`` seconds to fetch."""

    def __init__(self, offset_ms: int, slow: float) -> None:
        super().__init__(offset_ms)
        self.slow = slow
        self.beats = 0
        self.fetch_timeouts: list[float | None] = []

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        self.beats += 1
        return {**super().heartbeat(origin, timeout), "keys_crc": self.beats}

    def keys(self, timeout: float | None = None) -> dict[str, JSON]:
        self.fetch_timeouts.append(timeout)
        time.sleep(self.slow)
        return {"keys": []}


def test_fetching_the_key_list_is_not_the_heartbeats_round_trip(tmp_path: Path) -> None:
    """A slow key list fetch after each beat neither skews the skew nor the round trip, and
    waits no longer than the beat did (decision 0054).

    Before, the fetch ran inside the beat's call: its 0.4 s counted as round trip (so the next
    beats waited longer to call the link down) and half of it as clock skew, and it waited the
    transport's 10 s in a black hole, holding every heartbeat meanwhile.
    """
    central = RekeyingCentral(2_000, slow=0.4)
    stored: list[list[JSON]] = []
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        monitor = monitor_on_fake(edge, central, after_beat=KeyRefresh(central, stored.append))
        deadline = time.monotonic() + 10
        while len(stored) < 3:  # every one of these beats was followed by a fetch
            assert time.monotonic() < deadline, "the key list was not fetched after 3 beats"
            time.sleep(0.05)
        snapshot = monitor.snapshot()
        assert snapshot.round_trip_ms is not None
        assert snapshot.round_trip_ms < 150
        assert snapshot.skew_ms is not None
        assert abs(snapshot.skew_ms - 2_000) < 100
        assert all(t is not None and t < 2.0 for t in central.fetch_timeouts)
    finally:
        edge.close()


def test_a_failing_after_beat_does_not_stop_the_heartbeats(tmp_path: Path) -> None:
    """The work after a beat raising (a bug) is logged; the beats go on."""
    calls: list[int] = []

    def broken(answer: dict[str, JSON], timeout: float) -> None:
        calls.append(1)
        raise RuntimeError("a bug")

    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        central = FakeCentral(0)
        monitor_on_fake(edge, central, after_beat=broken)
        deadline = time.monotonic() + 5
        while len(calls) < 3:
            assert time.monotonic() < deadline, "the heartbeats stopped after the first failure"
            time.sleep(0.02)
    finally:
        edge.close()
