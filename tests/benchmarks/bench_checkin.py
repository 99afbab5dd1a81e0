"""Check-in latency at the edge: in process and over HTTP on loopback (R-PERF-1).

A hotel of 500 standard rooms with 500 arrivals today, on a real SQLite file with the
production settings (WAL, synchronous=FULL). Each check-in records two guests in the registry,
takes the room and appends its mutation, in one transaction.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx2
from results import Metric, median, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests dir, for support/

from support.auth import bearer, provision_edge_keys, token_for
from yadori.bootstrap import NodeConfig, Yadori, bootstrap, tune_gc
from yadori.domain.ids import new_id
from yadori.domain.registry import RegistryEntry
from yadori.services import commands as c
from yadori.sync.mutation import Actor

ROOMS = 500
TODAY = date(2026, 12, 1)
ACTOR = Actor("bench", "bench")
GUESTS = (
    RegistryEntry("佐藤 太郎", "東京都中央区日本橋1-1", "090-0000-0000"),
    RegistryEntry(
        "Emma Wilson", "1 Main St, London", "+44 20 0000", False, "GBR", "GB1234567", True
    ),
)


def build(db_url: str, key_dir: str = "") -> tuple[Yadori, str, list[tuple[str, str]]]:
    """A hotel with ROOMS rooms and as many arrivals today; returns (node, code, pairs)."""
    node = bootstrap(NodeConfig("edge", "bench", "B", db_url, key_dir=key_dir))
    pid, std, plan = new_id(), new_id(), new_id()
    run = lambda cmd: node.bus.execute(pid, cmd, ACTOR).result  # noqa: E731
    run(
        c.CreateProperty(
            property_id=pid, code="BNCH", name_ja="ベンチ", name_en="Bench", business_date=TODAY
        )
    )
    run(
        c.CreateRoomType(
            room_type_id=std, code="STD", name_ja="標準", name_en="Standard", max_occupancy=2
        )
    )
    rooms = [new_id() for _ in range(ROOMS)]
    for i, room in enumerate(rooms):
        run(c.CreateRoom(room_id=room, number=f"{1000 + i}", room_type_id=std, floor=i // 50))
    run(
        c.CreateRatePlan(
            rate_plan_id=plan,
            code="BAR",
            name_ja="基本",
            name_en="Base",
            prices=(c.Price(std, 13_200),),
        )
    )
    pairs = []
    for room in rooms:
        rid = new_id()
        run(
            c.CreateReservation(
                reservation_id=rid,
                folio_id=new_id(),
                guest_name="Bench",
                arrival=TODAY,
                departure=TODAY + timedelta(days=2),
                adults=2,
                room_type_id=std,
                rate_plan_id=plan,
            )
        )
        pairs.append((rid, room))
    return node, "BNCH", pairs


def in_process(workdir: Path) -> list[float]:
    """Milliseconds per check-in through the bus."""
    node, _, pairs = build(f"sqlite:///{workdir / 'inproc.db'}")
    pid = node.directory.property_id("BNCH")
    tune_gc()  # as `yadori edge` does at start
    samples = []
    for rid, room in pairs:
        started = time.perf_counter_ns()
        node.bus.execute(pid, c.CheckIn(reservation_id=rid, room_id=room, guests=GUESTS), ACTOR)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    node.close()
    return samples


def over_http(workdir: Path) -> list[float]:
    """Milliseconds per check-in request to a real `yadori edge` process on loopback."""
    db_url = f"sqlite:///{workdir / 'http.db'}"
    key_dir = workdir / "keys" / "bench"
    provision_edge_keys(key_dir, "bench")  # as if enrolled: the front desk logs in offline
    node, code, pairs = build(db_url, str(key_dir))
    headers = bearer(token_for(node, node.directory.property_id(code)))
    node.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "YADORI_DB_URL": db_url,
        "YADORI_PORT": str(port),
        "YADORI_NODE_ID": "bench",
        "YADORI_NODE_PREFIX": "B",
        "YADORI_LOG_LEVEL": "warning",
        "YADORI_KEY_DIR": str(key_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "yadori.cli", "edge"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        guests = [_entry(g) for g in GUESTS]
        samples = []
        with httpx2.Client(base_url=base, timeout=10, headers=headers) as client:
            for rid, room in pairs:
                started = time.perf_counter_ns()
                response = client.post(
                    f"/api/v1/properties/{code}/reservations/{rid}/check-in",
                    json={"room_id": room, "guests": guests},
                )
                samples.append((time.perf_counter_ns() - started) / 1e6)
                response.raise_for_status()
        return samples
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _entry(entry: RegistryEntry) -> dict[str, object]:
    return {k: getattr(v, "value", v) for k, v in dataclasses.asdict(entry).items()}


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the edge did not start")


def run(workdir: Path) -> list[Metric]:
    """Measure both and return the metrics (targets from the foundation issue)."""
    local = in_process(workdir)
    http = over_http(workdir)
    return [
        Metric("check-in p50, in process", median(local), "ms", 5, "lower", "R-PERF-1"),
        Metric("check-in p99, in process", percentile(local, 99), "ms", 5, "lower", "R-PERF-1"),
        Metric("check-in p50, HTTP loopback", median(http), "ms", 20, "lower", "R-PERF-1"),
        Metric("check-in p99, HTTP loopback", percentile(http, 99), "ms", 20, "lower", "R-PERF-1"),
    ]
