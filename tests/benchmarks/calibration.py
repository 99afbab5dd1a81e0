"""The issue's own yardstick, measured on this machine in the same run.

Issue 3 sets the sync targets beside figures taken on "a machine like yours": PostgreSQL
itself ingests 20,000 mutation-shaped rows in 0.49 s with ``executemany`` in one transaction,
and in 1.0 s in transactions of 100 rows. Recovery of 20,000 in 2 s is then about 4 times the
database's own limit, and a batch of 100 in 50 ms about 10 times one such transaction.

These machines change speed by a factor of two or more from one hour to the next, so an
absolute figure alone cannot tell a slower machine from slower code. Here the same ingest is
timed with the very mutations the recovery sends (the edge snapshot's outbox rows, into a
table of the same columns, primary key and unique ``(origin, seq)``), in the same run; the
ratios of Yadori's figures to it are reported beside the absolute ones. They are information,
not the targets: the targets stay the absolute figures.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from results import Metric, median

REFERENCE_ONE_TRANSACTION = 0.49  # s: 20,000 rows, executemany, one transaction (issue 3)
REFERENCE_PER_100 = 1.0  # s: 20,000 rows in transactions of 100 (issue 3)
REFERENCE_ROWS = 20_000
REFERENCE_ONE_OF_100 = REFERENCE_PER_100 / (REFERENCE_ROWS / 100)  # s: one such transaction
RUNS = 3

_COLUMNS = "id, origin, seq, hlc, name, args, deps, priority, staff_id, token_id, crc32"
_TABLE = """
CREATE TABLE IF NOT EXISTS ingest (
    id text PRIMARY KEY,
    origin text NOT NULL,
    seq bigint NOT NULL,
    hlc text NOT NULL,
    name text NOT NULL,
    args jsonb NOT NULL,
    deps jsonb NOT NULL,
    priority smallint NOT NULL,
    staff_id text NOT NULL,
    token_id text NOT NULL,
    crc32 bigint NOT NULL,
    UNIQUE (origin, seq)
)
"""
_INSERT = f"INSERT INTO ingest ({_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"  # noqa: S608


@dataclass(frozen=True)
class Ingest:
    """PostgreSQL's own ingest of the queued mutations on this machine, medians of RUNS."""

    rows: int
    one_transaction: float  # s, executemany in one transaction
    per_100: float  # s, executemany in transactions of 100 rows

    @property
    def one_transaction_of_100(self) -> float:
        """Seconds one transaction of 100 rows took, on average."""
        return self.per_100 / (self.rows / 100)


def queued_rows(snapshot: Path) -> list[tuple[Any, ...]]:
    """The outbox rows of an edge snapshot, as the recovery would send them."""
    with contextlib.closing(sqlite3.connect(snapshot)) as conn:
        return conn.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq").fetchall()  # noqa: S608


def _seconds(url: str, rows: Sequence[tuple[Any, ...]], per: int) -> float:
    """Insert ``rows`` into an emptied table, ``per`` rows to a transaction; the seconds."""
    with psycopg.connect(url) as conn:
        conn.execute(_TABLE)
        conn.execute("TRUNCATE ingest")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for n in range(0, len(rows), per):
                cur.executemany(_INSERT, rows[n : n + per])
                conn.commit()
        return time.perf_counter() - started


def measure(url: str, rows: Sequence[tuple[Any, ...]]) -> Ingest:
    """Time the ingest both ways, interleaved, RUNS times each; medians."""
    one: list[float] = []
    hundred: list[float] = []
    for _ in range(RUNS):
        one.append(_seconds(url, rows, len(rows)))
        hundred.append(_seconds(url, rows, 100))
    return Ingest(len(rows), median(one), median(hundred))


def metrics(ingest: Ingest) -> list[Metric]:
    """The ingest against the issue's own reference figures (how fast this machine is now)."""
    scale = ingest.rows / REFERENCE_ROWS
    return [
        Metric(
            f"calibration: PostgreSQL's own ingest of the {ingest.rows:,} queued mutations, "
            f"executemany, one transaction, median of {RUNS} (issue's reference machine "
            f"{REFERENCE_ONE_TRANSACTION * scale:g} s)",
            ingest.one_transaction,
            "s",
            REFERENCE_ONE_TRANSACTION * scale,
            "lower",
            "info",
        ),
        Metric(
            f"calibration: the same in transactions of 100 rows, median of {RUNS} (issue's "
            f"reference machine {REFERENCE_PER_100 * scale:g} s)",
            ingest.per_100,
            "s",
            REFERENCE_PER_100 * scale,
            "lower",
            "info",
        ),
    ]


def ratio(label: str, value: float, own: float, target: float, what: str) -> Metric:
    """Yadori's figure over the database's own, against the target's ratio to the reference."""
    return Metric(
        f"{label} ÷ {what}, same run (the targets are {target:.1f}× the issue's reference)",
        value / own,
        "×",
        target,
        "lower",
        "info",
    )
