"""Helpers the sync suites share: one sync cycle, a worker on another transport, the data's
checksums, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.storage.checksums import TableSum, property_checksums
from yadori.sync.protocol import MAX_BATCH_BYTES
from yadori.sync.sync_ports import Store, WorkerConfig
from yadori.sync.worker import SyncWorker


def sync(edge: Yadori) -> None:
    """One full cycle of the edge's own worker: push everything, pull everything."""
    assert edge.worker is not None
    report = edge.worker.cycle()
    assert not report.errors, report


def worker_on(
    edge: Yadori,
    transport: object,
    *,
    page_size: int = 2_000,
    batch_size: int = 500,
    batch_bytes: int = MAX_BATCH_BYTES,
) -> SyncWorker:
    """A worker on the edge's own queue, clock and banner (``/events``), with another transport,
    page or batch size (in mutations, or in bytes)."""
    assert edge.edge_store is not None
    return SyncWorker(
        edge.edge_store,
        transport,  # type: ignore[arg-type]
        origin=edge.config.node_id,
        properties=lambda: list(edge.config.properties),
        hlc=edge.bus.hlc,
        now=lambda: datetime.now(UTC),
        config=WorkerConfig(batch_size=batch_size, page_size=page_size, batch_bytes=batch_bytes),
        announce=edge.events.publish,
    )


def hotel_worker(hotel: Hotel, store: Store, transport: object, **config: int) -> SyncWorker:
    """A worker for an edge's test hotel, on ``store`` (one a test may watch) and a transport
    standing in for central, with the batch and page sizes given (``WorkerConfig``)."""
    return SyncWorker(
        store,
        transport,  # type: ignore[arg-type]
        origin="edge1",
        properties=lambda: [hotel.property_id],
        hlc=hotel.node.bus.hlc,
        now=lambda: datetime.now(UTC),
        config=WorkerConfig(**config),
    )


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
