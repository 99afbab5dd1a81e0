"""The composition root: the one place that wires concrete adapters together."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from yadori.services.bus import MessageBus, Node
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

    def close(self) -> None:
        """Release the database connections."""
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
    engine = make_engine(config.db_url, SqliteOptions(synchronous=config.sqlite_synchronous))
    if config.migrate:
        upgrade(engine)
    directory = SqlDirectory(engine)
    latest = directory.latest_hlc()
    last = Timestamp.parse(latest) if latest else None
    hlc = HybridClock(config.node_id, wall_ms, last)
    factory = SqlUnitOfWorkFactory(engine, SystemClock().now)
    bus = MessageBus(factory, Node(config.node_id, config.node_prefix), hlc)
    return Yadori(config, engine, bus, directory)
