"""The connectivity state machine, sans I/O: online → offline → recovering → online.

Fed with what happened (a heartbeat or sync call succeeded or failed, recovery finished) and
the time, it says the new state and when to probe next. Going offline is immediate on a failure
(writes never switch, only the sync and the banner do, so a false alarm costs nothing); coming
back needs a successful probe, then a completed recovery sync, then a period of heightened
monitoring. While offline, probes back off exponentially with jitter, capped so that a link that
returns is noticed within about two seconds. A heartbeat waits for its answer a fixed allowance
plus twice the link's smoothed round trip, so a slow link is not taken for a dead one
(decision 0045).
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
    jitter: float = 0.2
    heartbeat_timeout: float = 0.4  # the allowance beyond the round trip; see RoundTrip


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


def next_probe(link: Link, now: float, timing: Timing, rng: random.Random) -> float:
    """Seconds until the next heartbeat."""
    if link.state is LinkState.OFFLINE:
        base = min(timing.backoff_cap, timing.backoff_first * 2.0 ** max(0, link.failures - 1))
        return base * (1 - timing.jitter * rng.random())
    if link.state is LinkState.RECOVERING or now < link.heightened_until:
        return timing.heightened
    return timing.heartbeat


ROUND_TRIP_ALLOWANCE_CAP = 1.6
"""At most this many seconds are added to a heartbeat's timeout for the link's round trip."""


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """The heartbeat's smoothed round trip in seconds, from the calls that were answered.

    It rises fast (half of the gap to a slower sample) and falls slowly (an eighth, the gain of
    RFC 6298), because it sets a timeout: overestimating costs a little time to notice a dead
    link, underestimating costs a false outage. Calls that failed are not samples (Karn).
    """

    smoothed: float | None = None

    def observe(self, seconds: float) -> RoundTrip:
        """Fold in the round trip of a heartbeat that was answered."""
        sample = max(0.0, seconds)
        if self.smoothed is None:
            return RoundTrip(sample)
        gain = 0.5 if sample > self.smoothed else 0.125
        return RoundTrip(self.smoothed + gain * (sample - self.smoothed))

    def timeout(self, allowance: float) -> float:
        """How long the next heartbeat waits: the allowance plus twice the round trip (capped)."""
        return allowance + min(ROUND_TRIP_ALLOWANCE_CAP, 2.0 * (self.smoothed or 0.0))
