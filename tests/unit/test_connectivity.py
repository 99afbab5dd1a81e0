"""The connectivity state machine: online → offline → recovering → online, and probe timing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.sync.connectivity import (
    ROUND_TRIP_ALLOWANCE_CAP,
    Link,
    LinkState,
    RoundTrip,
    Timing,
    next_probe,
    on_failure,
    on_recovered,
    on_success,
    sync_backoff,
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


def test_offline_probes_double_from_the_first_wait_with_jitter() -> None:
    """While offline: the first wait, twice as long after each failed probe, up to the cap,
    each less up to ``jitter`` of it (so edges cut together do not probe together)."""
    lowest, highest = random.Random(), random.Random()
    lowest.random = lambda: 1.0  # type: ignore[method-assign] # the most jitter takes off
    highest.random = lambda: 0.0  # type: ignore[method-assign] # none
    first, cap = T.backoff_first, T.backoff_cap
    waits = [min(cap, first * 2**n) for n in range(8)]
    assert waits[0] < waits[1] < waits[2]
    assert waits[-1] == cap  # the cap is reached
    for failures, wait in enumerate(waits, start=1):
        link = Link(LinkState.OFFLINE, 0.0, failures)
        assert next_probe(link, 0.0, T, highest) == wait
        assert next_probe(link, 0.0, T, lowest) == pytest.approx(wait * (1 - T.jitter))


@given(st.integers(1, 60), st.integers(0, 2**32))
def test_backoff_grows_but_never_past_its_cap(failures: int, seed: int) -> None:
    """However long the outage, the next probe comes within the cap: a return is seen in time."""
    delay = next_probe(Link(LinkState.OFFLINE, 0.0, failures), 0.0, T, random.Random(seed))
    assert 0 < delay <= T.backoff_cap


def test_sync_backoff_doubles_from_the_first_wait_with_jitter() -> None:
    """After failed sync cycles: the first backoff, then twice as long each time, less jitter."""
    lowest, highest = random.Random(), random.Random()
    lowest.random = lambda: 1.0  # type: ignore[method-assign] # the most jitter takes off
    highest.random = lambda: 0.0  # type: ignore[method-assign] # none
    for failures, wait in ((1, 0.25), (2, 0.5), (3, 1.0), (5, 4.0)):
        assert sync_backoff(failures, T, highest) == wait
        assert sync_backoff(failures, T, lowest) == pytest.approx(wait * (1 - T.jitter))


@given(st.integers(1, 200), st.integers(0, 2**32))
def test_sync_backoff_never_passes_its_cap(failures: int, seed: int) -> None:
    """However many cycles failed, the next one comes within the cap (30 s by default)."""
    wait = sync_backoff(failures, T, random.Random(seed))
    assert T.backoff_first * (1 - T.jitter) <= wait <= T.sync_backoff_cap


def test_a_heartbeat_waits_its_allowance_plus_twice_the_round_trip() -> None:
    """Before any answer, the allowance alone; then twice the smoothed round trip on top."""
    assert RoundTrip().timeout(0.4) == 0.4
    fast = RoundTrip().observe(0.005)
    assert fast.timeout(0.4) == pytest.approx(0.41)
    slow = fast.observe(0.3)  # rises by half the gap at once
    assert slow.smoothed == pytest.approx(0.1525)
    assert slow.timeout(0.4) == pytest.approx(0.4 + 2 * 0.1525)
    calmer = slow.observe(0.0)  # falls by an eighth
    assert calmer.smoothed == pytest.approx(0.1525 * 7 / 8)
    assert RoundTrip().observe(60.0).timeout(0.4) == 0.4 + ROUND_TRIP_ALLOWANCE_CAP
    assert RoundTrip().observe(-1.0).smoothed == 0.0  # a clock oddity is no negative time


def test_a_link_that_slows_down_keeps_its_heartbeats_answered() -> None:
    """From 5 ms to 250 ms round trips (a backup link): every beat still fits its timeout."""
    trip = RoundTrip()
    for _ in range(20):
        trip = trip.observe(0.005)
    for _ in range(20):
        assert trip.timeout(0.4) > 0.25
        trip = trip.observe(0.25)
    assert trip.timeout(0.4) > 0.4 + 2 * 0.24


@given(
    st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=40),
    st.floats(min_value=0.05, max_value=5.0),
)
def test_the_last_answered_round_trip_always_fits_the_next_timeout(
    samples: list[float], allowance: float
) -> None:
    """Whatever came before, a beat as slow as the last answered one is not timed out.

    And the timeout stays between the allowance and the allowance plus the cap.
    """
    trip = RoundTrip()
    for sample in samples:
        trip = trip.observe(sample)
        timeout = trip.timeout(allowance)
        assert allowance <= timeout <= allowance + ROUND_TRIP_ALLOWANCE_CAP
        assert timeout >= allowance + min(ROUND_TRIP_ALLOWANCE_CAP, sample) - 1e-9


def test_a_slower_link_is_probed_sooner_while_online() -> None:
    """The beat comes as much sooner as it will wait longer, down to the heightened interval.

    Only while online at the normal rhythm: heightened, recovering and offline are unchanged.
    """
    rng = random.Random(1)
    assert next_probe(Link(), 100.0, T, rng, waits_more=0.3) == pytest.approx(T.heartbeat - 0.3)
    assert next_probe(Link(), 100.0, T, rng, waits_more=1.6) == T.heightened
    assert next_probe(Link(heightened_until=200.0), 100.0, T, rng, 0.3) == T.heightened
    assert next_probe(Link(LinkState.RECOVERING), 0.0, T, rng, 0.3) == T.heightened
    offline = next_probe(Link(LinkState.OFFLINE, 0.0, 1), 0.0, T, rng, 1.6)
    assert offline <= T.backoff_first


@given(
    st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=40),
    st.floats(min_value=0.5, max_value=5.0),
    st.floats(min_value=0.05, max_value=2.0),
)
def test_a_hang_is_noticed_as_soon_as_on_a_fast_link(
    samples: list[float], heartbeat: float, allowance: float
) -> None:
    """While online, the wait before a beat plus the beat's timeout is the interval plus the
    allowance whatever the round trip, as long as the round trip's share fits in the interval
    (above the heightened one); past that, it grows only by what does not fit."""
    timing = Timing(heartbeat=heartbeat, heightened=0.25, heartbeat_allowance=allowance)
    trip = RoundTrip()
    for sample in samples:
        trip = trip.observe(sample)
        delay = next_probe(Link(), 0.0, timing, random.Random(0), trip.extra())
        deadline = delay + trip.timeout(allowance)
        fits = max(0.0, trip.extra() - (heartbeat - 0.25))
        assert delay >= 0.25
        assert deadline == pytest.approx(heartbeat + allowance + fits)
