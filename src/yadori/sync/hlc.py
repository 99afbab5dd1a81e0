"""Hybrid logical clock: timestamps that order changes across nodes and survive clock jumps.

A timestamp is (wall milliseconds, counter, node). ``now`` never goes backwards even when the
wall clock does; ``observe`` merges a timestamp received from another node. The text form sorts
in the same order as the tuples, so it can be stored and compared as a string.

A clock given ``max_ahead_ms`` (central's) follows no remote timestamp further ahead of its
own wall clock (decision 0058): an edge whose clock is hours or a day ahead would otherwise
drag central's clock along, and through it every other hotel's, with the time of every command
they record. Such a timestamp is not merged (its node's own data keeps it) and is reported to
``on_ahead``. Edges follow central's clock, which is bounded so, without a bound of their own:
a slow edge's stamps are corrected by central's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger("yadori.sync")

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


MAX_AHEAD_MS = 3_600_000
"""By default, remote timestamps more than an hour ahead of this node's clock are not followed."""

Ahead = Callable[[Timestamp, int], None]
"""Told of a remote timestamp not followed, and how many milliseconds it was ahead."""


def _unreported(remote: Timestamp, ahead_ms: int) -> None:
    """No one to tell."""


class HybridClock:
    """The HLC of one node, fed by a wall clock in milliseconds."""

    def __init__(
        self,
        node: str,
        wall_ms: Callable[[], int],
        last: Timestamp | None = None,
        max_ahead_ms: int | None = None,
        on_ahead: Ahead = _unreported,
    ):
        self._node = node
        self._wall_ms = wall_ms
        self._last = last or Timestamp(0, 0, node)
        self._max_ahead_ms = max_ahead_ms
        self._on_ahead = on_ahead
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
        """Merge a remote timestamp so that what this node does next sorts after it.

        Unless it is more than ``max_ahead_ms`` (if any) ahead of this node's wall clock: then it is
        reported and not merged, and the clock ticks as ``now`` does.
        """
        with self._lock:
            wall = self._wall_ms()
            ahead = remote.wall_ms - wall
            if self._max_ahead_ms is None or ahead <= self._max_ahead_ms:
                return self._observe(remote, wall)
            stamp = self._now()
        self._on_ahead(remote, ahead)  # outside the lock: it may log, or write
        return stamp

    def _observe(self, remote: Timestamp, wall_now: int) -> Timestamp:
        wall = max(wall_now, self._last.wall_ms, remote.wall_ms)
        counter = -1
        if wall == self._last.wall_ms:
            counter = max(counter, self._last.counter)
        if wall == remote.wall_ms:
            counter = max(counter, remote.counter)
        self._last = _tick(wall, counter + 1, self._node)
        return self._last


class AheadLog:
    """Logs the remote timestamps a clock did not follow: once per node per ``every`` seconds."""

    def __init__(
        self, max_ahead_ms: int, every: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_ahead_s = max_ahead_ms // 1000
        self._every = every
        self._clock = clock
        self._next: dict[str, float] = {}  # node → no line about it before this

    def __call__(self, remote: Timestamp, ahead_ms: int) -> None:
        """Log one remote timestamp not followed (unless its node was named lately)."""
        now = self._clock()
        if now < self._next.get(remote.node, float("-inf")):
            return
        self._next[remote.node] = now + self._every
        log.error(
            "ESCALATION hlc_ahead: node %s stamps its changes %d s ahead of this node's clock, "
            "more than the %d s a clock follows: one of the two clocks is wrong. Its changes are "
            "applied, but their time is not followed; set the wrong clock right",
            remote.node,
            ahead_ms // 1000,
            self._max_ahead_s,
        )


def name_restored_ahead(last: Timestamp | None, wall_now_ms: int, max_ahead_ms: int) -> int:
    """Log, at start, a clock restored further ahead of the wall clock than ``max_ahead_ms``.

    A restarted node goes on from the newest timestamp it stored, so that it never issues an
    older one; if that is far ahead of its wall clock, everything it records is stamped with
    that time until the wall clock gets there. Its wall clock was set back (a reset battery, a
    wrong time server), or the node followed a wrong clock before decision 0058 bounded
    central's. Returns how many milliseconds ahead it was (0 if not).
    """
    ahead = 0 if last is None else last.wall_ms - wall_now_ms
    if last is None or ahead <= max_ahead_ms:
        return max(ahead, 0)
    log.error(
        "ESCALATION hlc_restored_ahead: this node's clock goes on from %s, %d s ahead of its wall "
        "clock: its wall clock was set back, or it followed a wrong clock before. What it "
        "records is stamped with that time (in order) until the wall clock reaches it; check "
        "this machine's time, and the clocks of the nodes it syncs with",
        datetime.fromtimestamp(last.wall_ms // 1000, UTC).isoformat(),
        ahead // 1000,
    )
    return ahead


def _tick(wall_ms: int, counter: int, node: str) -> Timestamp:
    """A timestamp, moving to the next millisecond when the counter runs out of digits."""
    if counter >= 10**COUNTER_DIGITS:
        return Timestamp(wall_ms + 1, 0, node)
    return Timestamp(wall_ms, counter, node)
