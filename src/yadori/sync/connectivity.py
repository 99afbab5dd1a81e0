"""The connectivity state machine, sans I/O: online → offline → recovering → online.

Fed with what happened (a heartbeat or sync call succeeded or failed, recovery finished) and
the time, it says the new state and when to probe next. Going offline is immediate on a failure
(writes never switch, only the sync and the banner do, so a false alarm costs nothing); coming
back needs a successful probe, then a completed recovery sync, then a period of heightened
monitoring. While offline, probes back off exponentially with jitter, capped so that a link that
returns is noticed within about two seconds. A heartbeat waits for its answer a fixed allowance
plus twice the link's smoothed round trip, so a link that slows down is not taken for a dead
one; while online, the beats come that much sooner, so a hang is noticed as soon as on a fast
link (decision 0045).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import Enum


class LinkState(Enum):
    """Where the edge's link to central stands."""

    ONLINE = "online"
    OFFLINE = "offline"
    RECOVERING = "recovering"


@dataclass(frozen=True, slots=True)
class Timing:
    """Intervals in seconds (configurable; the defaults meet R-PERF-3 and R-PERF-4)."""

    heartbeat: float = 1.0
    heightened: float = 0.25
    heightened_for: float = 60.0
    backoff_first: float = 0.25
    backoff_cap: float = 1.5
    sync_backoff_cap: float = 30.0  # the longest wait after sync cycles failed in a row
    jitter: float = 0.2
    heartbeat_allowance: float = 0.4  # a heartbeat waits this plus the round trip's share


@dataclass(frozen=True, slots=True)
class Link:
    """The state, since when, and the offline probe count (for backoff)."""

    state: LinkState = LinkState.ONLINE
    since: float = 0.0
    failures: int = 0
    heightened_until: float = 0.0


def on_success(link: Link, now: float) -> Link:
    """A heartbeat or sync call succeeded: offline becomes recovering."""
    if link.state is LinkState.OFFLINE:
        return Link(LinkState.RECOVERING, now, 0, link.heightened_until)
    return replace(link, failures=0)


def on_failure(link: Link, now: float) -> Link:
    """A heartbeat or sync call failed: offline at once (or still, one more failure)."""
    if link.state is LinkState.OFFLINE:
        return replace(link, failures=link.failures + 1)
    return Link(LinkState.OFFLINE, now, 1, link.heightened_until)


def on_recovered(link: Link, now: float, timing: Timing) -> Link:
    """The recovery sync finished: online, watched closely for a while."""
    if link.state is not LinkState.RECOVERING:
        return link
    return Link(LinkState.ONLINE, now, 0, now + timing.heightened_for)


def next_probe(
    link: Link, now: float, timing: Timing, rng: random.Random, waits_more: float = 0.0
) -> float:
    """Seconds until the next heartbeat.

    ``waits_more`` is how much longer than the allowance the next beat will wait for its answer
    (``RoundTrip.extra``). While online, the beat comes that much sooner, down to the heightened
    interval: a hang is then noticed within the interval plus the allowance, whatever the link's
    round trip, for round trips up to (interval − heightened interval) / 2.
    """
    if link.state is LinkState.OFFLINE:
        base = min(timing.backoff_cap, timing.backoff_first * 2.0 ** max(0, link.failures - 1))
        return base * (1 - timing.jitter * rng.random())
    if link.state is LinkState.RECOVERING or now < link.heightened_until:
        return timing.heightened
    return max(min(timing.heartbeat, timing.heightened), timing.heartbeat - waits_more)


def sync_backoff(failures: int, timing: Timing, rng: random.Random) -> float:
    """Seconds before the next sync cycle, after ``failures`` cycles failed in a row (0056).

    The first backoff, doubled for each failure after the first, with jitter, and never more
    than ``Timing.sync_backoff_cap``.
    """
    wait = min(timing.sync_backoff_cap, timing.backoff_first * 2.0 ** max(0, failures - 1))
    return wait * (1 - timing.jitter * rng.random())


ROUND_TRIP_ALLOWANCE_CAP = 1.6
"""At most this many seconds are added to a heartbeat's timeout for the link's round trip."""


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """The heartbeat's smoothed round trip in seconds, from the calls that were answered.

    It rises fast (by half of the gap to a slower sample) and falls slowly (by an eighth of the
    gap, the gain RFC 6298 uses), because it sets a timeout: overestimating costs a few more
    heartbeats, underestimating costs a false outage. As in Karn's algorithm, calls that failed
    are not used as samples.
    """

    smoothed: float | None = None

    def observe(self, seconds: float) -> RoundTrip:
        """Fold in the round trip of a heartbeat that was answered."""
        sample = max(0.0, seconds)
        if self.smoothed is None:
            return RoundTrip(sample)
        gain = 0.5 if sample > self.smoothed else 0.125
        return RoundTrip(self.smoothed + gain * (sample - self.smoothed))

    def extra(self) -> float:
        """What the round trip adds to a heartbeat's wait: twice the smoothed one, capped."""
        return min(ROUND_TRIP_ALLOWANCE_CAP, 2.0 * (self.smoothed or 0.0))

    def timeout(self, allowance: float) -> float:
        """How long the next heartbeat waits: the allowance plus ``extra``."""
        return allowance + self.extra()
