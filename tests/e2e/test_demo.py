"""`yadori demo --once`: the outage drill with a central, a fault proxy and an edge as processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

LIMIT_SECONDS = 120


@pytest.fixture(params=["sqlite", "postgresql"])
def central_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The demo's environment: central on SQLite (the default) or on a fresh PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if k != "YADORI_CENTRAL_DB_URL"}
    env["COLUMNS"] = "160"  # wide enough that no report line is wrapped
    if request.param == "postgresql":
        env["YADORI_CENTRAL_DB_URL"] = request.getfixturevalue("pg_url")
    return env


@pytest.mark.slow
def test_demo_once_runs_the_outage_drill(tmp_path: Path, central_env: dict[str, str]) -> None:
    """The edge pulls the hotel, works a day, loses central, works 24 simulated hours offline
    while central books the room a walk-in gets, syncs back, and holds central's very data."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "yadori.cli", "demo", "--once", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS + 30,
        env=central_env,
        check=False,
    )
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"^MATCH: central and edge hold the same data", out, re.MULTILINE), out
    assert "MISMATCH" not in out
    tickets = re.findall(r"^ticket (room_double_booked|overbooked)\b", out, re.MULTILINE)
    assert tickets, out
    assert re.search(r"operations done offline\s*[│|]\s*[1-9]", out), out
    assert re.search(r"conflict tickets opened\s*[│|]\s*[1-9]", out), out
    assert re.search(r"room-service orders from the guest page's API\s*[│|]\s*[1-9]", out), out
    assert re.search(r"resent by the page, taken once\s*[│|]\s*1", out), out
    assert re.search(r"^ticket oversold\b", out, re.MULTILINE), out
    assert re.search(r"^room service \S+: estimated", out, re.MULTILINE), out
    # the report's timings (issue 3, item 8): present, and in the order they happened; their
    # targets are the benchmarks' (a test never fails because the machine was slow)
    detected, back, synced = (
        float(_row(out, label, r"(\d+\.\d+) s"))
        for label in (
            "outage detected after the cut",
            "link back detected after",
            r"synced \(queue empty, online\) after",
        )
    )
    assert 0 < detected < LIMIT_SECONDS
    assert 0 < back <= synced < LIMIT_SECONDS
    assert int(_row(out, "mutations queued offline and synced", r"(\d+)")) > 0
    assert _row(out, "mutations rejected by central", r"(\d+)") == "0"
    assert elapsed < LIMIT_SECONDS


def _row(out: str, label: str, value: str) -> str:
    """The value of a report table's row."""
    found = re.search(rf"{label}\s*[│|]\s*{value}", out)
    assert found, f"no row {label!r} in:\n{out}"
    return found.group(1)
