"""Waiting, in a test, until another writer waits for a lock (PostgreSQL's or its property's)."""

from __future__ import annotations

import time
from concurrent.futures import Future

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.storage.unit_of_work import writers_waiting

_WAITING = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)


def wait_until_blocked(engine: Engine, other: Future[object], who: str) -> None:
    """Return once a session of the database waits for a lock, or a writer of this process for
    its property (``other``, which must still be running: if it finished, it did not wait, and
    the test fails)."""
    deadline = time.monotonic() + 10
    while True:
        if writers_waiting(engine):
            return
        with engine.connect() as conn:
            if conn.execute(_WAITING).scalar_one():
                return
        assert not other.done(), f"the {who} did not wait"
        assert time.monotonic() < deadline, f"the {who} neither waited nor finished in 10 s"
        time.sleep(0.01)
