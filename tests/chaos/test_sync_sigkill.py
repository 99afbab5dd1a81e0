"""SIGKILL during sync: the edge at 30+ points of push and pull, central while it applies.

The edge runs as a process (sync_edge_proc.py) that alternates front-desk commands and sync
cycles against a real `yadori central` on PostgreSQL, printing a marker at each interesting
point; the test kills it with SIGKILL at chosen markers and starts it again on the same SQLite
file. Central is killed while a transaction applying a large push is open, and restarted.
Afterwards everything must converge: identical per-table checksums, every edge mutation done,
central's ledger holding exactly the edge's outbox, nothing lost, nothing doubled.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from support.hotel import TODAY, Hotel, build_hotel
from support.nodes import CentralProcess, central_process, edge_node
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.checksums import property_checksums
from yadori.storage.engine import make_engine
from yadori.storage.tables import outbox, sync_applied
from yadori.sync.errors import LinkDown

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    # support/nodes.py leaves central's log file for the garbage collector (reported)
]

EDGE_PROC = Path(__file__).with_name("sync_edge_proc.py")
POINTS = ("push", "pushed", "pull", "pulled", "command", "cycled")
KILLS = 36  # six at each point


@dataclass
class Site:
    """Central with the small hotel, its database for checks, and where the edge lives."""

    central: CentralProcess
    engine: Engine
    hotel: Hotel
    tmp: Path

    @property
    def edge_db(self) -> str:
        """The edge's SQLite file, kept across kills."""
        return f"sqlite:///{self.tmp / 'edge1.db'}"


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL database with the small hotel."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    node.close()
    engine = make_engine(pg_url)
    with central_process(pg_url, tmp_path) as central:
        try:
            yield Site(central, engine, hotel, tmp_path)
        finally:
            engine.dispose()


def open_edge(site: Site) -> Yadori:
    """The edge in this process, on its file, syncing straight with central."""
    return edge_node(site.tmp, site.central.url, (site.hotel.property_id,))


def converge(site: Site) -> Counter[str]:
    """Sync the edge to the end, check it matches central exactly; the results by kind."""
    edge = open_edge(site)
    try:
        assert edge.worker is not None
        assert edge.edge_store is not None
        for _ in range(3):  # a resend, its results, then nothing left
            edge.worker.cycle()
        assert edge.edge_store.pending_count() == 0
        pid = site.hotel.property_id
        with edge.engine.connect() as mine, site.engine.connect() as theirs:
            assert property_checksums(mine, pid) == property_checksums(theirs, pid)
            rows = mine.execute(sa.select(outbox).order_by(outbox.c.seq)).all()
            ledger = theirs.execute(
                sa.select(sync_applied.c.mutation_id, sync_applied.c.seq).where(
                    sync_applied.c.origin == "edge1"
                )
            ).all()
    finally:
        edge.close()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), "a gap in the outbox"
    assert {r.state for r in rows} == {"done"}
    assert sorted((r.id, r.seq) for r in rows) == sorted((m, s) for m, s in ledger)
    return Counter(r.result for r in rows)


# --- the edge -----------------------------------------------------------------------------


def _spawn(site: Site, seed: int) -> subprocess.Popen[str]:
    ids = {
        "property_id": site.hotel.property_id,
        "room_type_id": site.hotel.std,
        "rate_plan_id": site.hotel.plan,
        "rooms": list(site.hotel.rooms.values()),
        "today": TODAY.isoformat(),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    open_edge(site).close()  # enrolled once, as `yadori edge enroll` would have done
    with (site.tmp / "edge-proc.log").open("a") as log:
        return subprocess.Popen(
            [
                sys.executable,
                str(EDGE_PROC),
                site.edge_db,
                site.central.url,
                json.dumps(ids),
                str(seed),
                str(site.tmp / "keys" / "edge1"),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )


def _kill_at(proc: subprocess.Popen[str], point: str, skip: int) -> list[str]:
    """SIGKILL the process right after its ``skip``+1-th ``point`` marker; its markers."""
    assert proc.stdout is not None
    watchdog = threading.Timer(30, proc.kill)  # a process that stops talking fails the test
    watchdog.start()
    seen: list[str] = []
    try:
        while True:
            line = proc.stdout.readline().strip()
            assert line, f"the edge process ended before {point!r}: {seen[-5:]}"
            seen.append(line)
            if line == point:
                if skip == 0:
                    break
                skip -= 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        watchdog.cancel()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return seen


def test_edge_killed_at_36_points_of_push_and_pull_converges(site: Site) -> None:
    """36 SIGKILLs of a syncing edge process at push and pull points: it converges, each once."""
    first = open_edge(site)
    first.worker.cycle()  # type: ignore[union-attr]  # the hotel, before any kill
    first.close()
    rng = random.Random(2026)
    markers: Counter[str] = Counter()
    for kill in range(KILLS):
        point = POINTS[kill % len(POINTS)]
        seen = _kill_at(_spawn(site, seed=kill), point, skip=rng.randint(0, 2))
        markers.update(seen)
    results = converge(site)
    assert set(results) == {"applied"}, results
    assert markers["command"] > KILLS, markers
    assert markers["pushed"] >= 2 * KILLS // len(POINTS), markers


# --- central ------------------------------------------------------------------------------


def _offline_work(site: Site, edge: Yadori, stays: int, per_stay: int) -> int:
    """Bookings, charges and housekeeping at the edge before it syncs; how many mutations."""
    hotel = replace(site.hotel, node=edge)
    made = 0
    for n in range(stays):
        folio = hotel.folio_id(hotel.book(arrival=TODAY + timedelta(days=n), name=f"G{n}"))
        made += 1
        for k in range(per_stay):
            cmd = c.PostCharge(
                folio_id=folio, line_id=new_id(), category="misc", description=f"#{k}", amount=k + 1
            )
            hotel.run(cmd)
            condition = (Condition.DIRTY, Condition.CLEAN)[k % 2]
            hotel.run(c.SetRoomCondition(room_id=hotel.rooms["201"], condition=condition))
            made += 2
    return made


def _applying(engine: Engine) -> bool:
    """Whether central holds a transaction open that has written (it is applying a batch)."""
    with engine.connect() as conn:
        return bool(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            ).scalar()
        )


def _committed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(sync_applied)).scalar_one())


def _kill_central_while_applying(site: Site, edge: Yadori, after: int, made: int) -> int:
    """Push in a thread; SIGKILL central once ``after`` results are committed and a batch is
    being applied (fewer than ``made`` committed: not the pull's publishing, which writes
    too); restart it. Returns what was committed at the kill."""
    with ThreadPoolExecutor(1) as pool:
        pushing = pool.submit(edge.worker.cycle)  # type: ignore[union-attr]
        while not (after <= _committed(site.engine) < made and _applying(site.engine)):
            assert not pushing.done(), "the push ended before central could be killed"
            time.sleep(0.005)
        site.central.kill()
        committed = _committed(site.engine)
        with pytest.raises(LinkDown):
            pushing.result(timeout=30)
    site.central.restart()
    return committed


def test_central_killed_while_applying_a_large_push_converges(site: Site) -> None:
    """Central SIGKILLed twice mid-apply of a large push: the resend lands every mutation once."""
    edge = open_edge(site)
    try:
        edge.worker.cycle()  # type: ignore[union-attr]
        made = _offline_work(site, edge, stays=10, per_stay=50)
        assert made == 1_010  # three batches: 500, 500, 10
        at_first = _kill_central_while_applying(site, edge, after=0, made=made)
        at_second = _kill_central_while_applying(site, edge, after=at_first + 1, made=made)
    finally:
        edge.close()
    assert at_first < at_second < made
    assert converge(site) == Counter({"applied": made})
    assert _committed(site.engine) == made
