"""Helpers the sync suites share: one sync cycle, the data's checksums, polling."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from yadori.bootstrap import Yadori
from yadori.storage.checksums import TableSum, property_checksums


def sync(edge: Yadori) -> None:
    """One full cycle of the edge's own worker: push everything, pull everything."""
    assert edge.worker is not None
    report = edge.worker.cycle()
    assert not report.errors, report


def checksums(engine: Engine, property_id: str) -> list[TableSum]:
    """The property's per-table row counts and CRC32s."""
    with engine.connect() as conn:
        return property_checksums(conn, property_id)


def wait_until(check: Callable[[], bool], seconds: float) -> float:
    """Poll until ``check`` holds; return how long it took (fail after ``seconds``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started
