"""`yadori demo --once`: a central and an edge as real processes, a day over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def central_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The demo's environment: central on SQLite (the default) or on a fresh PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if k != "YADORI_CENTRAL_DB_URL"}
    if request.param == "postgresql":
        env["YADORI_CENTRAL_DB_URL"] = request.getfixturevalue("pg_url")
    return env


@pytest.mark.slow
def test_demo_once_runs_a_day_and_exits(tmp_path: Path, central_env: dict[str, str]) -> None:
    """The demo seeds both nodes, runs the day through the edge's API and exits 0 by itself."""
    env = central_env
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "yadori.cli", "demo", "--once", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "arrivals checked in" in out
    assert "departures settled and checked out" in out
    assert "folio_not_balanced" in out
    assert elapsed < 60
