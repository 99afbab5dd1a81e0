"""The composition root: the one place that wires concrete adapters together."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from yadori.services.bus import MessageBus, Node
from yadori.storage.checkpoint import WalCheckpointer
from yadori.storage.directory import SqlDirectory
from yadori.storage.engine import SqliteOptions, make_engine
from yadori.storage.migrate import upgrade
from yadori.storage.unit_of_work import SqlUnitOfWorkFactory
from yadori.sync.hlc import HybridClock, Timestamp


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What a node needs to start: who it is and where its database lives."""

    role: str
    node_id: str
    node_prefix: str
    db_url: str
    sqlite_synchronous: str = "FULL"
    migrate: bool = True


@dataclass(frozen=True, slots=True)
class Yadori:
    """A running node's parts, handed to the HTTP app and the CLI."""

    config: NodeConfig
    engine: Engine
    bus: MessageBus
    directory: SqlDirectory
    checkpointer: WalCheckpointer | None = field(default=None)

    def close(self) -> None:
        """Stop background work and release the database connections."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)


def wall_ms() -> int:
    """Milliseconds since the Unix epoch, for the HLC."""
    return time.time_ns() // 1_000_000


def bootstrap(config: NodeConfig) -> Yadori:
    """Open the database (migrating it), restore the HLC, and build the bus."""
    sqlite = config.db_url.startswith("sqlite")
    options = SqliteOptions(synchronous=config.sqlite_synchronous, autocheckpoint=not sqlite)
    engine = make_engine(config.db_url, options)
    if config.migrate:
        upgrade(engine)
    checkpointer = WalCheckpointer(engine) if sqlite else None
    if checkpointer is not None:
        checkpointer.start()
    directory = SqlDirectory(engine)
    latest = directory.latest_hlc()
    last = Timestamp.parse(latest) if latest else None
    hlc = HybridClock(config.node_id, wall_ms, last)
    factory = SqlUnitOfWorkFactory(engine, SystemClock().now)
    bus = MessageBus(factory, Node(config.node_id, config.node_prefix), hlc)
    return Yadori(config, engine, bus, directory, checkpointer)


def tune_gc() -> None:
    """Make garbage collection rare and cheap for a long-running node (entrypoints call this).

    Objects alive after start-up (modules, compiled statements) are frozen out of every
    collection, and the youngest generation is collected every 50,000 allocations instead of
    700: measured, this takes check-in p99 from about 7 ms to under 5 ms. Yadori's request
    path makes few reference cycles, so memory stays flat.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
