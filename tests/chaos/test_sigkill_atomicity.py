"""SIGKILL an edge mid-command: each command has its rows and its mutation, or neither.

A worker process runs commands in a loop against a real SQLite file (WAL, synchronous=FULL) and
is killed with SIGKILL at random moments, more than twenty times, restarting on the same file.
After each kill the file is opened again and checked: the outbox sequence is gapless, every
mutation's checksum holds, and each reservation, folio line and room-status change matches
exactly one mutation and each mutation its rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.hotel import TODAY, build_hotel
from yadori.bootstrap import NodeConfig, bootstrap
from yadori.storage.repositories.outbox import mutation_from_row
from yadori.storage.tables import folio_lines, outbox, reservations, rooms

KILLS = 24
WORKER = Path(__file__).with_name("crash_worker.py")


def _start(db_url: str, ids: dict[str, object], seed: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_url, json.dumps(ids), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    return proc


def _check(db_url: str) -> Counter[str]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        mutations = [
            mutation_from_row(r) for r in conn.execute(sa.select(outbox).order_by(outbox.c.seq))
        ]
        assert [m.seq for m in mutations] == list(range(1, len(mutations) + 1)), "gap in outbox seq"
        assert all(m.checksum_ok() for m in mutations), "a stored mutation fails its CRC32"
        by_name = Counter(m.name for m in mutations)
        booked = {
            str(m.args["reservation_id"]) for m in mutations if m.name == "create_reservation"
        }
        assert booked == set(conn.execute(sa.select(reservations.c.id)).scalars())
        posted = {
            str(m.args["line_id"]) for m in mutations if m.name in ("post_charge", "post_payment")
        }
        assert posted == set(conn.execute(sa.select(folio_lines.c.id)).scalars())
        status_changes = sum(v - 1 for v in conn.execute(sa.select(rooms.c.version)).scalars())
        assert status_changes == by_name["set_room_condition"]
    engine.dispose()
    return by_name


@pytest.mark.slow
def test_sigkill_at_random_points_never_splits_a_command(tmp_path: Path) -> None:
    """24 SIGKILLs at random moments: rows and mutations always match one for one."""
    db_url = f"sqlite:///{tmp_path / 'edge.db'}"
    node = bootstrap(NodeConfig("edge", "edge1", "E1", db_url))
    hotel = build_hotel(node)
    ids = {
        "property_id": hotel.property_id,
        "room_type_id": hotel.std,
        "rate_plan_id": hotel.plan,
        "rooms": list(hotel.rooms.values()),
        "today": TODAY.isoformat(),
    }
    node.close()
    rng = random.Random(2026)
    totals: Counter[str] = Counter()
    for kill in range(KILLS):
        proc = _start(db_url, ids, seed=kill)
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        totals = _check(db_url)
    assert totals["create_reservation"] > KILLS, totals
    assert totals["post_charge"] + totals["post_payment"] > KILLS, totals
