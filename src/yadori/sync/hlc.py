"""Hybrid logical clock: timestamps that order changes across nodes and survive clock jumps.

A timestamp is (wall milliseconds, counter, node). ``now`` never goes backwards even when the
wall clock does; ``observe`` merges a timestamp received from another node. The text form sorts
in the same order as the tuples, so it can be stored and compared as a string.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

WALL_DIGITS = 15
COUNTER_DIGITS = 6


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """One HLC timestamp; ordering is wall time, then counter, then node id."""

    wall_ms: int
    counter: int
    node: str

    def __post_init__(self) -> None:
        if not 0 <= self.wall_ms < 10**WALL_DIGITS or not 0 <= self.counter < 10**COUNTER_DIGITS:
            raise ValueError(f"HLC fields out of range: {self.wall_ms}, {self.counter}")

    def __str__(self) -> str:
        return f"{self.wall_ms:0{WALL_DIGITS}d}-{self.counter:0{COUNTER_DIGITS}d}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Read the text form back."""
        wall, counter, node = text.split("-", 2)
        return cls(int(wall), int(counter), node)


class HybridClock:
    """The HLC of one node, fed by a wall clock in milliseconds."""

    def __init__(self, node: str, wall_ms: Callable[[], int], last: Timestamp | None = None):
        self._node = node
        self._wall_ms = wall_ms
        self._last = last or Timestamp(0, 0, node)
        self._lock = threading.Lock()  # one node's threads share its clock

    @property
    def last(self) -> Timestamp:
        """The latest timestamp this clock issued or observed."""
        return self._last

    def now(self) -> Timestamp:
        """A timestamp later than every one issued or observed before."""
        with self._lock:
            return self._now()

    def _now(self) -> Timestamp:
        wall = self._wall_ms()
        if wall > self._last.wall_ms:
            self._last = Timestamp(wall, 0, self._node)
        else:
            self._last = _tick(self._last.wall_ms, self._last.counter + 1, self._node)
        return self._last

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a remote timestamp so that what this node does next sorts after it."""
        with self._lock:
            return self._observe(remote)

    def _observe(self, remote: Timestamp) -> Timestamp:
        wall = max(self._wall_ms(), self._last.wall_ms, remote.wall_ms)
        counter = -1
        if wall == self._last.wall_ms:
            counter = max(counter, self._last.counter)
        if wall == remote.wall_ms:
            counter = max(counter, remote.counter)
        self._last = _tick(wall, counter + 1, self._node)
        return self._last


def _tick(wall_ms: int, counter: int, node: str) -> Timestamp:
    """A timestamp, moving to the next millisecond when the counter runs out of digits."""
    if counter >= 10**COUNTER_DIGITS:
        return Timestamp(wall_ms + 1, 0, node)
    return Timestamp(wall_ms, counter, node)
