"""Engines for both dialects, with the SQLite transaction recipe that loses no update.

SQLite: pysqlite's own transaction handling is switched off (``isolation_level=None``) and every
write transaction starts with ``BEGIN IMMEDIATE``, so concurrent read-modify-write commands
queue on the write lock instead of losing updates. WAL lets readers run beside the writer;
``synchronous=FULL`` makes every committed transaction survive a power cut (see
docs/decisions/0002-sqlite-durability.md for what it costs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry

from yadori.storage import pg_arrays

READ_ONLY = "yadori_read_only"
# psycopg prepares a statement once it has run five times on a connection, and PostgreSQL may
# then plan it once for any parameters. For ``column = ANY(:array)`` over rows whose statistics
# are stale (a new edge's results at central, say), that generic plan scanned every row of the
# origin against every array element: 45 ms instead of 0.6 for 500 seqs among 20,000 results
# (decision 0041). Our statements are never prepared: each is planned for its own parameters.
PREPARE_THRESHOLD: int | None = None


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    """Durability and waiting settings of the edge's SQLite file."""

    synchronous: str = "FULL"
    busy_timeout_ms: int = 10_000
    autocheckpoint: bool = True  # False when a WalCheckpointer runs beside the engine


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[sa.Connection]:
    """A connection for reads only: on SQLite it never waits for the write lock.

    For reads made while the same thread holds a write transaction on another connection (a
    key looked up during a replay): ``BEGIN IMMEDIATE`` there would wait for that very lock.
    """
    with engine.connect() as conn:
        conn.info[READ_ONLY] = True
        try:
            yield conn
        finally:
            conn.info.pop(READ_ONLY, None)


def make_engine(url: str, sqlite: SqliteOptions | None = None) -> Engine:
    """An engine for a database URL; SQLite URLs get the pragmas and transaction recipe."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(
            _psycopg(url),
            pool_pre_ping=True,
            pool_size=10,
            connect_args={"prepare_threshold": PREPARE_THRESHOLD},
        )
        event.listen(engine, "connect", _on_postgres_connect)
        return engine
    if not url.startswith("sqlite"):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    _configure_sqlite(engine, sqlite or SqliteOptions())
    return engine


def _on_postgres_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    pg_arrays.register(dbapi_connection.adapters)  # arrays of plain values joined at once


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _configure_sqlite(engine: Engine, options: SqliteOptions) -> None:
    if options.synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError("sqlite synchronous must be FULL, EXTRA or NORMAL")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={options.synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(options.busy_timeout_ms)}")
        if not options.autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.info.get(READ_ONLY) else "BEGIN IMMEDIATE")
