"""The WAN misbehaving: faults injected by the TCP fault proxy between an edge and central.

Central is a real `yadori central` process on PostgreSQL; the edge runs in process on SQLite
and reaches central only through the proxy. Each fault is injected while the edge pushes,
pulls or heartbeats; then the link heals and the edge must converge: the same per-table
checksums as central, nothing applied twice, nothing left pending. The monitor tests run the
edge's real connectivity monitor (fast timing) and time its transitions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from support.hotel import ACTOR, TODAY, Hotel, build_hotel
from support.nodes import (
    FAST,
    CentralProcess,
    central_process,
    edge_node,
    enrol_key,
    free_port,
    node_bearer,
    proxy_to,
    wait_healthy,
)
from support.sync import checksums, sync, wait_until, worker_on
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.enrol import enrolment_token
from yadori.cli.fault_proxy import FaultProxy
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.engine import make_engine
from yadori.storage.tables import folio_lines, sync_applied, sync_origins
from yadori.sync.canonical import JSON
from yadori.sync.connectivity import LinkState
from yadori.sync.errors import BatchRefused, LinkDown
from yadori.sync.http_transport import HttpTransport
from yadori.sync.monitor import Monitor
from yadori.sync.mutation import Priority, make_mutation
from yadori.sync.protocol import CONTENT_TYPE, CRC_HEADER, Batch, BatchItem, encode_batch

pytestmark = [
    pytest.mark.postgres,
    # support/nodes.py leaves central's log file for the garbage collector (reported)
]

# Tests check the behaviour within the source's own limits (R-PERF-3 < 3 s to go offline;
# R-PERF-4 < 30 s to sync back), so that a busy machine never fails them. Our tighter targets,
# 1.5 s and 2 s at p100, are measured by `make bench` over 20 cuts (bench_sync link metrics).
OFFLINE_WITHIN = 3.0  # seconds from link cut to the offline state
BACK_WITHIN = 10.0  # seconds from link back to online again, the recovery sync done


@dataclass
class Site:
    """Central with the small hotel, the fault proxy, and one edge that has pulled it."""

    central: CentralProcess
    proxy: FaultProxy
    engine: Engine
    hotel: Hotel
    edge: Yadori
    tmp: Path
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def property_id(self) -> str:
        """The hotel's id."""
        return self.hotel.property_id


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL with the small hotel, a proxy, and a synced edge."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    node.close()
    engine = make_engine(pg_url)
    with central_process(pg_url, tmp_path) as central, proxy_to(central) as proxy:
        edge = edge_node(tmp_path, proxy.url, (hotel.property_id,))
        made = Site(central, proxy, engine, dataclasses.replace(hotel, node=edge), edge, tmp_path)
        try:
            sync(edge)
            yield made
        finally:
            proxy.set("pass")
            for close in reversed(made.closers):
                close()
            edge.close()
            engine.dispose()


def charges(site: Site, count: int) -> str:
    """Book a stay at the edge and post ``count`` charges to it; return its folio."""
    folio = site.hotel.folio_id(site.hotel.book(nights=2))
    for n in range(count):
        cmd = c.PostCharge(
            folio_id=folio,
            line_id=new_id(),
            category="minibar",
            description=f"item {n}",
            amount=100 + n,
        )
        site.hotel.run(cmd)
    return folio


def applied(site: Site) -> int:
    """How many of the edge's mutations central has recorded."""
    with site.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(sync_applied)
                .where(sync_applied.c.origin == "edge1")
            ).scalar_one()
        )


def assert_converged(site: Site) -> None:
    """The edge holds central's data, every mutation has exactly one result, none pending."""
    assert checksums(site.edge.engine, site.property_id) == checksums(site.engine, site.property_id)
    assert site.edge.edge_store is not None
    assert site.edge.edge_store.pending_count() == 0
    with site.edge.engine.connect() as conn:
        made = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE state = 'done'").scalar()
        lines = conn.execute(sa.select(sa.func.count()).select_from(folio_lines)).scalar()
    assert applied(site) == made
    with site.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(folio_lines)).scalar() == lines


def chain_breaks(site: Site) -> int:
    """Batches of the edge whose previous CRC did not match, as central counted them."""
    with site.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sync_origins.c.chain_breaks).where(sync_origins.c.origin == "edge1")
            ).scalar_one()
        )


# --- push ---------------------------------------------------------------------------------


def test_cut_in_the_middle_of_a_push_applies_nothing_and_the_resend_converges(
    site: Site,
) -> None:
    """The link drops 2 kB into a 200-mutation batch: central applies none of it."""
    charges(site, 200)
    site.proxy.cut_mid_stream(2_000)
    with pytest.raises(LinkDown):
        sync(site.edge)
    assert applied(site) == 0
    sync(site.edge)
    assert applied(site) == 201
    assert_converged(site)


def test_an_answer_lost_after_central_applied_is_not_applied_twice(site: Site) -> None:
    """Central applies the batch but its answer is lost: the resend gets the same results."""
    charges(site, 50)
    site.proxy.set("delay", delay=1.0)  # the answer waits 1 s in the link: time to see and cut
    with ThreadPoolExecutor(1) as pool:
        pushing = pool.submit(sync, site.edge)
        wait_until(lambda: applied(site) == 51, 20)
        site.proxy.set("cut")  # the answer is still held in the slow link
        with pytest.raises(LinkDown):
            pushing.result(timeout=20)
    with site.edge.engine.connect() as conn:
        states = conn.exec_driver_sql("SELECT DISTINCT state FROM outbox").scalars().all()
    assert states == ["pending"], "the answer was not lost: the batch was marked sent"
    site.proxy.set("pass")
    sync(site.edge)
    assert applied(site) == 51
    assert_converged(site)


def test_resending_a_batch_whose_answer_was_lost_is_not_a_chain_break(site: Site) -> None:
    """The worker resends batch N after losing central's answer: no batch was lost."""
    edge = site.edge
    assert edge.edge_store is not None
    assert edge.transport is not None
    charges(site, 3)
    state = edge.edge_store.state()
    pending = [p.id for p in edge.edge_store.pending(1_000)]
    items = tuple(edge.edge_store.items(pending))
    number, prev = int(state.get("batch_no", "0")) + 1, int(state.get("batch_crc", "0"))
    edge.transport.push(*encode_batch(Batch("edge1", number, prev, items)))  # answer "lost"
    sync(edge)  # the worker sends the same batch again
    assert applied(site) == 4
    assert chain_breaks(site) == 0


# --- pull ---------------------------------------------------------------------------------


class _CutAfterPulls:
    """The edge's transport; the link is cut right after the n-th pull answer arrived."""

    def __init__(self, inner: HttpTransport, proxy: FaultProxy, pulls: int) -> None:
        self._inner, self._proxy, self._left = inner, proxy, pulls

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return self._inner.push(body, crc)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        answer = self._inner.pull(params)
        self._left -= 1
        if self._left == 0:
            self._proxy.set("cut")
        return answer


def _central_work(site: Site, api: httpx2.Client, code: str) -> None:
    """Head office books three stays and reports three rooms dirty, over central's API."""
    for n, number in enumerate(("101", "102", "103")):
        body = {
            "guest_name": f"OTA guest {n}",
            "arrival": str(TODAY + timedelta(days=2)),
            "departure": str(TODAY + timedelta(days=4)),
            "room_type_id": site.hotel.std,
            "rate_plan_id": site.hotel.plan,
        }
        assert api.post(f"/api/v1/properties/{code}/reservations", json=body).status_code == 201
        room = site.hotel.rooms[number]
        answer = api.post(
            f"/api/v1/properties/{code}/rooms/{room}/condition", json={"condition": "dirty"}
        )
        assert answer.status_code == 200


def test_cut_between_pull_pages_keeps_what_was_applied_and_resumes(site: Site) -> None:
    """A pull cut after two of its pages keeps them applied and resumes from its cursor."""
    code = site.edge.directory.codes()[0]
    headers = site.central.staff_headers(site.property_id)
    with httpx2.Client(base_url=site.central.url, timeout=10, headers=headers) as api:
        _central_work(site, api, code)
    charges(site, 3)
    assert site.edge.transport is not None
    worker = worker_on(site.edge, _CutAfterPulls(site.edge.transport, site.proxy, 2), page_size=3)
    cursor = f"cursor:{site.property_id}"
    assert site.edge.edge_store is not None
    before = int(site.edge.edge_store.state()[cursor])
    with pytest.raises(LinkDown):
        worker.cycle()
    midway = int(site.edge.edge_store.state()[cursor])
    assert before < midway
    with site.engine.connect() as conn:
        newest = conn.exec_driver_sql("SELECT max(version) FROM sync_feed").scalar()
    assert midway < newest
    site.proxy.set("pass")
    sync(site.edge)
    assert int(site.edge.edge_store.state()[cursor]) == newest
    assert_converged(site)


class _LoseThePullAnswer:
    """The edge's transport; the slow link is cut while a pull's answer is on its way."""

    def __init__(self, inner: HttpTransport, proxy: FaultProxy) -> None:
        self._inner, self._proxy = inner, proxy

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return self._inner.push(body, crc)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        self._proxy.set("delay", delay=1.0)  # the request arrives at 1 s, its answer at 2 s
        cut = threading.Timer(1.5, self._proxy.set, ("cut",))
        cut.start()
        try:
            return self._inner.pull(params)
        finally:
            cut.join()


def test_a_pull_answer_lost_on_the_way_moves_no_cursor(site: Site) -> None:
    """A pull answer lost in flight acknowledges nothing, moves no cursor; the next pull heals."""
    charges(site, 5)
    assert site.edge.transport is not None
    assert site.edge.edge_store is not None
    state = site.edge.edge_store.state()
    with pytest.raises(LinkDown):
        worker_on(site.edge, _LoseThePullAnswer(site.edge.transport, site.proxy)).cycle()
    assert applied(site) == 6  # the push went through before the pull
    after = site.edge.edge_store.state()
    assert after[f"cursor:{site.property_id}"] == state[f"cursor:{site.property_id}"]
    assert after.get("results_no") == state.get("results_no")
    assert site.edge.edge_store.pending_count() == 6
    site.proxy.set("pass")
    sync(site.edge)
    assert_converged(site)


# --- corrupted bytes ----------------------------------------------------------------------


def test_corrupted_bytes_are_refused_and_the_resend_succeeds(site: Site) -> None:
    """A byte flipped in a push: refused as batch_corrupt, nothing applied, the resend applies."""
    charges(site, 3)
    site.proxy.corrupt(1)
    with pytest.raises(BatchRefused):
        sync(site.edge)
    assert applied(site) == 0
    sync(site.edge)
    assert applied(site) == 4
    assert_converged(site)


def _batch(site: Site, crc_delta: int = 0) -> tuple[bytes, int]:
    mutation = make_mutation(
        id=new_id(),
        origin="edge9",
        seq=1,
        hlc=f"{int(time.time() * 1000):015d}-000000-edge9",
        name="set_room_condition",
        args=c.SetRoomCondition(room_id=site.hotel.rooms["201"], condition=Condition.DIRTY).args(),
        deps=(),
        priority=Priority.ROOM_STATUS,
        actor=ACTOR,
    )
    mutation = dataclasses.replace(mutation, crc32=mutation.crc32 + crc_delta)
    room = f"room:{site.hotel.rooms['201']}"
    return encode_batch(Batch("edge9", 1, 0, (BatchItem(site.property_id, mutation, (room,)),)))


def test_central_answers_422_batch_corrupt_to_every_kind_of_damage(site: Site) -> None:
    """Flipped body, wrong batch CRC, bad mutation CRC: each refused whole, 422 batch_corrupt."""
    body, crc = _batch(site)
    flipped = body[:-5] + bytes([body[-5] ^ 0x01]) + body[-4:]
    damaged = [(flipped, crc), (body, crc ^ 1), _batch(site, crc_delta=1)]
    key = enrol_key(site.central, "edge9", (site.property_id,))
    headers = {"Content-Type": CONTENT_TYPE, **node_bearer(key)}
    with httpx2.Client(base_url=site.central.url, timeout=10) as api:
        for content, check in damaged:
            answer = api.post(
                "/sync/v1/push", content=content, headers={**headers, CRC_HEADER: str(check)}
            )
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "batch_corrupt"
        with site.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(sync_applied)).scalar() == 0
        answer = api.post("/sync/v1/push", content=body, headers={**headers, CRC_HEADER: str(crc)})
    assert answer.status_code == 200
    assert [r["result"] for r in answer.json()["results"]] == ["applied"]


def test_the_proxy_corrupts_the_body_even_when_the_headers_arrive_alone(site: Site) -> None:
    """corrupt(1) must damage the batch, never the HTTP framing: central answers 422."""
    body, crc = _batch(site)
    auth = node_bearer(enrol_key(site.central, "edge9", (site.property_id,)))["Authorization"]
    head = (
        f"POST /sync/v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {CONTENT_TYPE}\r\n"
        f"Authorization: {auth}\r\n"
        f"{CRC_HEADER}: {crc}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    site.proxy.corrupt(1)
    with socket.create_connection(("127.0.0.1", site.proxy.port), timeout=10) as conn:
        conn.sendall(head)
        time.sleep(0.1)  # the proxy reads the headers as a chunk of their own
        conn.sendall(body)
        answer = b""
        while chunk := conn.recv(65_536):
            answer += chunk
    assert answer.split(b" ", 2)[1] == b"422", answer[:200]


# --- the connectivity monitor -------------------------------------------------------------


def _link_events(events: queue.Queue[dict[str, JSON]]) -> list[str]:
    states = []
    while not events.empty():
        event = events.get_nowait()
        if event["event"] == "link":
            assert isinstance(event["data"], dict)
            states.append(str(event["data"]["state"]))
    return states


def _told_until_online(events: queue.Queue[dict[str, JSON]]) -> list[str]:
    """The link states told from now until ``online`` (the state is set just before it is told)."""
    states: list[str] = []
    deadline = time.monotonic() + 5
    while states[-1:] != ["online"]:
        event = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if event["event"] == "link":
            assert isinstance(event["data"], dict)
            states.append(str(event["data"]["state"]))
    return states


def _is_one_outage(states: list[str]) -> bool:
    """Offline first, recovering then online last. A failure while recovering goes offline once
    more within the same outage (one log row): a loaded machine may do that, and it is right."""
    return states[:1] == ["offline"] and states[-2:] == ["recovering", "online"]


def _outages_since(site: Site, at: datetime) -> list[dict[str, object]]:
    """The outages that began at or after ``at``, oldest first.

    A heartbeat that a loaded machine delays past its wait is a (short) outage of its own; one
    before the fault a test makes is not that fault's.
    """
    assert site.edge.edge_store is not None
    began = [
        o
        for o in site.edge.edge_store.outages()
        if datetime.fromisoformat(str(o["started_at"])) >= at
    ]
    return sorted(began, key=lambda o: str(o["started_at"]))


def _running(site: Site) -> Monitor:
    """Start the edge's monitor; return just after a sync cycle, so the next is 2 s away."""
    monitor = site.edge.monitor
    assert monitor is not None
    site.edge.start_sync()
    wait_until(lambda: monitor.snapshot().last_cycle is not None, 5)
    return monitor


def test_link_cut_goes_offline_within_3_s_and_comes_back_online(site: Site) -> None:
    """Three cuts: offline within 3 s, online again once the link is back, logged and told."""
    events = site.edge.events.subscribe()
    monitor = _running(site)
    for cut in range(3):
        _link_events(events)  # what was told before this cut is not its story
        at = datetime.now(UTC)
        site.proxy.set("cut")
        took = wait_until(lambda: monitor.state is LinkState.OFFLINE, OFFLINE_WITHIN)
        assert took <= OFFLINE_WITHIN
        charges(site, 2)
        time.sleep(0.3)
        site.proxy.set("pass")
        wait_until(lambda: monitor.state is LinkState.ONLINE, BACK_WITHIN)
        told = _told_until_online(events)
        assert _is_one_outage(told), told
        assert site.edge.edge_store is not None
        wait_until(lambda: site.edge.edge_store.pending_count() == 0, 5)  # type: ignore[union-attr]
        assert applied(site) == 3 * (cut + 1)
        outages = _outages_since(site, at)
        assert len(outages) == 1, (outages, monitor.snapshot().last_error)
        assert outages[0]["ended_at"] is not None
        assert 300 <= int(str(outages[0]["duration_ms"])) < (OFFLINE_WITHIN + BACK_WITHIN) * 1000
    assert site.edge.sync_status()["link"] == "online"
    assert_converged(site)


@pytest.mark.parametrize("fails", [False, True], ids=["reconciles", "reconcile_fails"])
def test_recovery_reconciles_after_the_pull_and_before_going_online(
    site: Site, fails: bool
) -> None:
    """The reconciliation hook runs once per recovery: once the queue is pushed and the pull
    applied, before the link is called online. A hook that fails is escalated (an alert and a
    log line) and the edge still comes back online: the sync itself is done."""
    edge = site.edge
    assert edge.transport is not None
    assert edge.edge_store is not None
    store = edge.edge_store
    seen: list[tuple[LinkState, int]] = []

    def reconcile() -> None:
        seen.append((monitor.state, store.pending_count()))
        if fails:
            raise RuntimeError("the comparison broke")

    monitor = Monitor(
        worker_on(site.edge, edge.transport),
        edge.transport,
        store,
        edge.events,
        edge.bus.hlc,
        origin="edge1",
        timing=FAST,
        reconcile=reconcile,
    )
    edge.monitor = monitor  # the edge's close() stops it
    monitor.start()
    wait_until(lambda: monitor.snapshot().last_heartbeat_ok is not None, 5)
    site.proxy.set("cut")
    wait_until(lambda: monitor.state is LinkState.OFFLINE, OFFLINE_WITHIN)
    charges(site, 2)
    site.proxy.set("pass")
    wait_until(lambda: monitor.state is LinkState.ONLINE, BACK_WITHIN)
    assert seen == [(LinkState.RECOVERING, 0)]
    kinds = [a["kind"] for a in store.alerts()]
    assert kinds.count("reconcile_error") == (1 if fails else 0), kinds
    assert_converged(site)


def test_the_outage_log_records_the_mutations_queued_meanwhile(site: Site) -> None:
    """A booking and two charges made while offline show in the outage's log line."""
    monitor = _running(site)
    at = datetime.now(UTC)
    site.proxy.set("cut")
    wait_until(lambda: monitor.state is LinkState.OFFLINE, OFFLINE_WITHIN)
    charges(site, 2)
    site.proxy.set("pass")
    wait_until(lambda: monitor.state is LinkState.ONLINE, BACK_WITHIN)
    outages = _outages_since(site, at)
    assert len(outages) == 1, (outages, monitor.snapshot().last_error)
    assert (outages[0]["queued_at_start"], outages[0]["queued_at_end"]) == (0, 3)


def test_hang_times_the_heartbeat_out_and_the_edge_goes_offline(site: Site) -> None:
    """A black hole: the heartbeat times out, offline within 3 s, the queue syncs after it."""
    monitor = _running(site)
    site.proxy.set("hang")
    wait_until(lambda: monitor.state is LinkState.OFFLINE, OFFLINE_WITHIN)
    charges(site, 4)
    site.proxy.set("pass")
    wait_until(lambda: monitor.state is LinkState.ONLINE, BACK_WITHIN)
    wait_until(lambda: site.edge.edge_store.pending_count() == 0, 5)  # type: ignore[union-attr]
    assert_converged(site)


class _HangOnPull:
    """The edge's transport; the WAN turns into a black hole just as a pull starts."""

    def __init__(self, inner: HttpTransport, proxy: FaultProxy) -> None:
        self._inner, self._proxy = inner, proxy
        self.armed = False

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return self._inner.push(body, crc)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        if self.armed:
            self.armed = False
            self._proxy.set("hang")
        return self._inner.pull(params)


def test_a_black_hole_during_a_pull_is_noticed_within_3_s(site: Site) -> None:
    """The link hangs while the worker waits for a pull: still offline within 3 s."""
    edge = site.edge
    assert edge.transport is not None
    assert edge.edge_store is not None
    hanging = _HangOnPull(edge.transport, site.proxy)
    monitor = Monitor(
        worker_on(site.edge, hanging),
        edge.transport,
        edge.edge_store,
        edge.events,
        edge.bus.hlc,
        origin="edge1",
        timing=FAST,
    )
    edge.monitor = monitor  # the edge's close() stops it
    site.closers.append(lambda: site.proxy.set("cut"))  # frees a thread stuck in the pull
    monitor.start()
    wait_until(lambda: monitor.snapshot().last_heartbeat_ok is not None, 5)
    hanging.armed = True
    charges(site, 1)  # something to sync: the monitor cycles at once
    monitor.nudge()
    wait_until(lambda: not hanging.armed, 5)
    wait_until(lambda: monitor.state is LinkState.OFFLINE, OFFLINE_WITHIN)


def _round_trip_reaches(monitor: Monitor, ms: int) -> None:
    wait_until(lambda: (monitor.snapshot().round_trip_ms or 0) >= ms, 10)


def test_a_slow_link_stays_online_and_syncs_everything(site: Site) -> None:
    """100 ms of delay per chunk: no false offline, and the queue still drains.

    A heartbeat then takes 0.2–0.3 s; with the fixed 0.4 s timeout of before, a loaded machine
    sometimes pushed one past it and the edge went offline (CI, 2026-11-30). The timeout now
    follows the round trip (decision 0045).
    """
    monitor = _running(site)
    at = datetime.now(UTC)
    site.proxy.set("delay", delay=0.05)  # first half way: every beat has 0.25 s or more to spare
    _round_trip_reaches(monitor, 80)
    site.proxy.set("delay", delay=0.1)
    charges(site, 20)
    monitor.nudge()
    wait_until(lambda: site.edge.edge_store.pending_count() == 0, 10)  # type: ignore[union-attr]
    _round_trip_reaches(monitor, 150)
    assert monitor.state is LinkState.ONLINE, monitor.snapshot().last_error
    assert _outages_since(site, at) == []
    status = site.edge.sync_status()  # the slow link shows, and so does the longer wait
    assert int(str(status["round_trip_ms"])) >= 150, status
    assert int(str(status["heartbeat_timeout_ms"])) >= 400 + 300, status
    site.proxy.set("pass")
    assert_converged(site)


def test_a_link_slower_than_the_allowance_stays_online(site: Site) -> None:
    """The link slows step by step until a heartbeat takes 0.5–0.75 s, past the 0.4 s allowance.

    Each step starts once the round trip has caught up with the one before, so every beat has
    a third of a second or more to spare. The fixed 0.4 s timeout of before failed every beat
    of the last step.
    """
    monitor = _running(site)
    at = datetime.now(UTC)
    for delay, caught_up in ((0.05, 80), (0.1, 180), (0.15, 280), (0.25, 450)):
        site.proxy.set("delay", delay=delay)
        _round_trip_reaches(monitor, caught_up)
    charges(site, 3)
    monitor.nudge()
    wait_until(lambda: site.edge.edge_store.pending_count() == 0, 15)  # type: ignore[union-attr]
    time.sleep(1.0)  # a few more beats at the slowest
    assert monitor.state is LinkState.ONLINE, monitor.snapshot().last_error
    assert _outages_since(site, at) == []
    assert (monitor.snapshot().heartbeat_timeout_ms or 0) >= 400 + 900
    site.proxy.set("pass")
    assert_converged(site)


def test_a_link_slower_than_the_allowance_from_the_start_comes_online(site: Site) -> None:
    """A heartbeat takes 0.5–0.75 s before the edge has had a single answer (it starts on, or
    fails over to, a satellite or LTE link): every beat times out at the 0.4 s allowance.

    The beat that timed out is asked again on a second client, waiting the longest a beat may
    wait; its answer teaches the round trip, the next beats wait that long, and the edge comes
    online and syncs. Before (decision 0045's cost), it stayed offline until the allowance was
    raised by hand.
    """
    at = datetime.now(UTC)
    site.proxy.set("delay", delay=0.25)
    monitor = site.edge.monitor
    assert monitor is not None
    site.edge.start_sync()
    wait_until(lambda: monitor.state is LinkState.OFFLINE, 5)  # the first beats time out
    wait_until(
        lambda: (
            monitor.state is LinkState.ONLINE and (monitor.snapshot().round_trip_ms or 0) >= 450
        ),
        20,
    )
    charges(site, 3)
    monitor.nudge()
    wait_until(lambda: site.edge.edge_store.pending_count() == 0, 20)  # type: ignore[union-attr]
    assert monitor.state is LinkState.ONLINE, monitor.snapshot().last_error
    assert (monitor.snapshot().heartbeat_timeout_ms or 0) >= 400 + 900
    outages = _outages_since(site, at)
    assert outages, "the first beats should have timed out"
    assert all(o["ended_at"] for o in outages), outages
    site.proxy.set("pass")
    assert_converged(site)


@pytest.mark.slow
def test_the_events_stream_of_an_edge_process_announces_the_outage(site: Site) -> None:
    """A `yadori edge` process's /events stream announces offline, recovering and online."""
    port = free_port()
    env = {
        **os.environ,
        "YADORI_DB_URL": f"sqlite:///{site.tmp / 'edge-process.db'}",
        "YADORI_PORT": str(port),
        "YADORI_NODE_ID": "edge2",
        "YADORI_NODE_PREFIX": "E2",
        "YADORI_CENTRAL_URL": site.proxy.url,
        "YADORI_PROPERTY_IDS": site.property_id,
        "YADORI_HEARTBEAT_SECONDS": "0.2",
        "YADORI_BACKOFF_CAP_SECONDS": "0.3",
        "YADORI_LOG_LEVEL": "warning",
        "YADORI_DATA_DIR": str(site.tmp),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    token, _ = enrolment_token(site.central.db_url, "edge2", (site.property_id,), timedelta(1))
    enrolled = subprocess.run(
        [*ENROLL, "--central", site.proxy.url, "--token", token],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    staff = site.central.staff_headers(site.property_id)
    with (site.tmp / "edge-process.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yadori.cli", "edge"], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        seen = _watch_events(url, site.proxy, staff)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    cut_at = next(at for at, kind, _ in seen if kind == "cut")
    states = [(at, data["state"]) for at, kind, data in seen if kind == "link" and at > cut_at]
    assert _is_one_outage([s for _, s in states]), states
    assert states[0][0] - cut_at <= OFFLINE_WITHIN


ENROLL = (sys.executable, "-m", "yadori.cli", "edge", "enroll")


def _watch_events(
    url: str, proxy: FaultProxy, headers: dict[str, str]
) -> list[tuple[float, str, dict[str, JSON]]]:
    """Read the SSE stream while the link is cut, and brought back once offline is told.

    The stream first replays the latest event of each kind: what came before the cut is left
    to the caller to skip.
    """
    seen: list[tuple[float, str, dict[str, JSON]]] = []

    def switch(mode: str) -> None:
        seen.append((time.monotonic(), mode, {}))
        proxy.set(mode)

    timers = [threading.Timer(0.5, switch, ("cut",))]
    with httpx2.stream("GET", f"{url}/events", timeout=10, headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for timer in timers:
            timer.start()
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((time.monotonic(), kind, json.loads(line.removeprefix("data: "))))
                cut = [at for at, k, _ in seen if k == "cut"]
                states = [d["state"] for at, k, d in seen if k == "link" and cut and at > cut[0]]
                if states[-1:] == ["offline"] and not any(k == "pass" for _, k, _ in seen):
                    switch("pass")
                if states[-2:] == ["recovering", "online"]:
                    break
    for timer in timers:
        timer.join()
    return seen
