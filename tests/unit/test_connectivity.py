"""The connectivity state machine: online → offline → recovering → online, and probe timing."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from yadori.sync.connectivity import (
    Link,
    LinkState,
    Timing,
    next_probe,
    on_failure,
    on_recovered,
    on_success,
)

T = Timing()


def test_one_failure_takes_the_link_offline_and_a_success_starts_recovery() -> None:
    """Offline at once; a probe that answers means recovering, a finished sync means online."""
    link = on_failure(Link(), 10.0)
    assert (link.state, link.since, link.failures) == (LinkState.OFFLINE, 10.0, 1)
    assert on_failure(link, 11.0).failures == 2
    recovering = on_success(link, 12.0)
    assert recovering.state is LinkState.RECOVERING
    online = on_recovered(recovering, 13.0, T)
    assert online.state is LinkState.ONLINE
    assert online.heightened_until == 13.0 + T.heightened_for
    assert on_recovered(online, 14.0, T) == online


def test_a_failure_while_recovering_goes_back_offline() -> None:
    """Hysteresis: recovery is only complete once its sync succeeded."""
    recovering = on_success(on_failure(Link(), 1.0), 2.0)
    assert on_failure(recovering, 3.0).state is LinkState.OFFLINE


def test_success_while_online_resets_nothing_but_failures() -> None:
    """An online link stays online on success."""
    link = Link(LinkState.ONLINE, 5.0, 0, 0.0)
    assert on_success(link, 6.0) == link


def test_probe_intervals() -> None:
    """Once a second online; fast while recovering or watched closely; backoff when offline."""
    rng = random.Random(1)
    assert next_probe(Link(), 100.0, T, rng) == T.heartbeat
    assert next_probe(Link(heightened_until=200.0), 100.0, T, rng) == T.heightened
    assert next_probe(Link(LinkState.RECOVERING), 0.0, T, rng) == T.heightened
    first = next_probe(Link(LinkState.OFFLINE, 0.0, 1), 0.0, T, rng)
    assert T.backoff_first * (1 - T.jitter) <= first <= T.backoff_first


@given(st.integers(1, 60), st.integers(0, 2**32))
def test_backoff_grows_but_never_past_its_cap(failures: int, seed: int) -> None:
    """However long the outage, the next probe comes within the cap: a return is seen in time."""
    delay = next_probe(Link(LinkState.OFFLINE, 0.0, failures), 0.0, T, random.Random(seed))
    assert 0 < delay <= T.backoff_cap
