"""The connectivity monitor's ports and what it shows.

What the monitor (monitor.py) needs of the link to central and of the edge's database, the
work it runs after a beat and after a recovery, its thresholds, and the link as the status
screen shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from yadori.sync.canonical import JSON
from yadori.sync.sync_ports import CycleReport


class Heartbeat(Protocol):
    """The link's quick call."""

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """Answer with central's time and HLC; fail after ``timeout`` seconds without answer."""
        ...

    def abort(self) -> None:
        """Fail the calls in flight (the link is down)."""
        ...


class PatientLink(Protocol):
    """A second client to central, for the heartbeat that waits the longest (see ``_beat``)."""

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """Answer with central's time and HLC; fail after ``timeout`` seconds without answer."""
        ...

    def close(self) -> None:
        """Close its connections."""
        ...


class OutageLog(Protocol):
    """Where outages and alerts are written (storage/edge_sync.py)."""

    def open_outage(self, at: datetime) -> str:
        """Log an outage's start."""
        ...

    def link_back(self, outage_id: str) -> None:
        """Log the queue an outage built up, when the link answers again."""
        ...

    def close_outage(self, outage_id: str, at: datetime, seconds: float) -> None:
        """Log an outage's end and its length (``seconds``, by the monotonic clock)."""
        ...

    def unfinished_outage(self) -> tuple[str, datetime] | None:
        """The latest outage, if it has no end (the node stopped during it): id, start."""
        ...

    def alert(self, kind: str, message: str, at: datetime) -> None:
        """Record an escalation."""
        ...

    def pending_count(self) -> int:
        """Mutations waiting for central."""
        ...

    def has_unsent(self) -> bool:
        """Whether anything waits to be pushed."""
        ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When to escalate, and how far the clocks may drift apart."""

    outage_seconds: float = 3_600.0
    queue_depth: int = 10_000
    max_skew_ms: int = 5_000
    pull_every: float = 2.0


@dataclass
class Snapshot:
    """What the status screen shows of the link."""

    state: str
    since: str
    skew_ms: int | None
    round_trip_ms: int | None
    heartbeat_timeout_ms: int
    last_heartbeat_ok: str | None
    last_cycle: CycleReport | None
    last_error: str | None
    outage_started: str | None


class AfterBeat(Protocol):
    """Work that follows an answered heartbeat on its thread (the key list's refresh)."""

    def __call__(self, answer: dict[str, JSON], timeout: float) -> None:
        """Act on central's ``answer``, waiting ``timeout`` seconds at most a step."""
        ...


def nothing_after(answer: dict[str, JSON], timeout: float) -> None:
    """No work follows a beat."""


class Reconcile(Protocol):
    """The daily reconciliation's hook, run after every recovery (R-ARCH-4, later issue)."""

    def __call__(self) -> None:
        """Compare and repair."""
        ...


def no_reconcile() -> None:
    """Until the daily reconciliation exists, recovery has nothing to reconcile."""
