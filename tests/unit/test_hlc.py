"""Hybrid logical clock: never backwards, merges remote time, and its text sorts like it."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.sync.hlc import (
    COUNTER_DIGITS,
    MAX_AHEAD_MS,
    WALL_DIGITS,
    HybridClock,
    Timestamp,
    name_restored_ahead,
)

WALLS = st.integers(min_value=0, max_value=10**WALL_DIGITS - 1)
COUNTERS = st.integers(min_value=0, max_value=10**COUNTER_DIGITS - 1)
NODES = st.text(min_size=1, max_size=8)
TIMESTAMPS = st.builds(Timestamp, WALLS, COUNTERS, NODES)
# Remotes in the text form's last millisecond (year 33658) leave too few later stamps for a run
# of them: nothing sorts after the very last one (see the test below).
FOLLOWABLE = st.builds(
    Timestamp, st.integers(min_value=0, max_value=10**WALL_DIGITS - 2), COUNTERS, NODES
)
READINGS = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30)


def wall(*readings: int) -> Callable[[], int]:
    """A wall clock that reads the given milliseconds, then repeats the last one."""
    values: Iterator[int] = iter(readings)
    last = [readings[0]]

    def read() -> int:
        last[0] = next(values, last[0])
        return last[0]

    return read


def test_first_timestamp_takes_the_wall_clock() -> None:
    """A fresh clock stamps the wall time with counter zero and its own node."""
    clock = HybridClock("edge1", wall(1_000))
    assert clock.now() == Timestamp(1_000, 0, "edge1")
    assert clock.last == Timestamp(1_000, 0, "edge1")


def test_fresh_clock_starts_at_zero() -> None:
    """Before anything happened, the last timestamp is the zero of this node."""
    assert HybridClock("edge1", wall(5)).last == Timestamp(0, 0, "edge1")


def test_counter_increments_within_the_same_millisecond() -> None:
    """Several changes in one millisecond are told apart by the counter."""
    clock = HybridClock("n", wall(7, 7, 7, 8))
    assert [clock.now() for _ in range(4)] == [
        Timestamp(7, 0, "n"),
        Timestamp(7, 1, "n"),
        Timestamp(7, 2, "n"),
        Timestamp(8, 0, "n"),
    ]


def test_wall_clock_going_back_does_not_move_time_back() -> None:
    """After an NTP step back, stamps keep the old wall time and count up."""
    clock = HybridClock("n", wall(10_000, 4_000, 9_999, 10_001))
    stamps = [clock.now() for _ in range(4)]
    assert stamps == [
        Timestamp(10_000, 0, "n"),
        Timestamp(10_000, 1, "n"),
        Timestamp(10_000, 2, "n"),
        Timestamp(10_001, 0, "n"),
    ]


def test_restart_resumes_after_the_stored_last_timestamp() -> None:
    """A clock restarted with its stored last timestamp never issues an earlier one."""
    clock = HybridClock("n", wall(50), last=Timestamp(100, 3, "n"))
    assert clock.now() == Timestamp(100, 4, "n")


@given(READINGS)
def test_now_is_strictly_monotonic_whatever_the_wall_clock_does(readings: list[int]) -> None:
    """Any sequence of wall readings gives strictly increasing stamps, never behind the wall."""
    clock = HybridClock("n", wall(*readings))
    stamps = [clock.now() for _ in readings]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert all(s.wall_ms >= r for s, r in zip(stamps, readings, strict=True))


def test_observe_remote_ahead_jumps_to_its_time() -> None:
    """A remote stamp from the future pulls this node's clock forward past it."""
    clock = HybridClock("edge", wall(1_000))
    assert clock.observe(Timestamp(5_000, 7, "central")) == Timestamp(5_000, 8, "edge")
    assert clock.now() == Timestamp(5_000, 9, "edge")


def test_observe_remote_behind_keeps_the_local_time() -> None:
    """A stale remote stamp changes nothing but the counter rule."""
    clock = HybridClock("edge", wall(9_000))
    assert clock.observe(Timestamp(1_000, 42, "central")) == Timestamp(9_000, 0, "edge")


def test_observe_remote_behind_after_local_stamps() -> None:
    """When the local clock already stamped this millisecond, its counter goes on."""
    clock = HybridClock("edge", wall(9_000))
    clock.now()
    clock.now()
    assert clock.observe(Timestamp(1_000, 42, "central")) == Timestamp(9_000, 2, "edge")


def test_observe_remote_equal_takes_the_larger_counter() -> None:
    """Same millisecond on both sides: the next counter after the larger one."""
    clock = HybridClock("edge", wall(3_000))
    clock.now()
    assert clock.observe(Timestamp(3_000, 5, "central")) == Timestamp(3_000, 6, "edge")
    assert clock.observe(Timestamp(3_000, 2, "central")) == Timestamp(3_000, 7, "edge")


def test_observe_when_the_wall_clock_is_ahead_of_both() -> None:
    """If the wall clock passed both stamps, the counter restarts at zero."""
    clock = HybridClock("edge", wall(9_000), last=Timestamp(100, 3, "edge"))
    assert clock.observe(Timestamp(200, 9, "central")) == Timestamp(9_000, 0, "edge")


@given(READINGS, st.lists(FOLLOWABLE, max_size=10), st.lists(st.booleans(), max_size=20))
def test_every_stamp_sorts_after_everything_seen(
    readings: list[int], remotes: list[Timestamp], steps: list[bool]
) -> None:
    """Interleaving now() and observe(), each result is later than all issued and observed
    (a clock without a bound, as an edge's: the bound is tested below)."""
    clock = HybridClock("me", wall(*readings))
    pending = iter(remotes)
    seen: list[tuple[int, int]] = []
    for local in steps:
        remote = None if local else next(pending, None)
        stamp = clock.now() if remote is None else clock.observe(remote)
        assert all((stamp.wall_ms, stamp.counter) > s for s in seen)
        seen.append((stamp.wall_ms, stamp.counter))
        if remote is not None:
            assert stamp > remote
            seen.append((remote.wall_ms, remote.counter))
        assert clock.last == stamp


def test_the_last_timestamp_there_is_cannot_be_followed() -> None:
    """Nothing sorts after the last timestamp the fixed-width form holds: observing it is a
    clear error (a sync cycle fails and is escalated), never a stamp that sorts before it."""
    clock = HybridClock("me", wall(5_000))
    last = Timestamp(10**WALL_DIGITS - 1, 10**COUNTER_DIGITS - 1, "central")
    with pytest.raises(ValueError, match="HLC fields out of range"):
        clock.observe(last)
    assert clock.now() == Timestamp(5_000, 0, "me")  # the clock itself goes on


def test_text_form_is_fixed_width() -> None:
    """The text form zero-pads wall time and counter so strings sort like numbers."""
    assert str(Timestamp(1_764_547_200_000, 3, "edge1")) == "001764547200000-000003-edge1"


@given(TIMESTAMPS)
def test_text_form_round_trips(stamp: Timestamp) -> None:
    """parse(str(t)) gives t back, even for a node id that holds dashes."""
    assert Timestamp.parse(str(stamp)) == stamp


def test_node_with_dashes_round_trips() -> None:
    """Node ids like edge-tky-1 survive the text form."""
    stamp = Timestamp(1, 2, "edge-tky-1")
    assert Timestamp.parse(str(stamp)) == stamp


@given(TIMESTAMPS, TIMESTAMPS)
def test_text_form_sorts_like_the_tuples(a: Timestamp, b: Timestamp) -> None:
    """Comparing the stored strings gives the same order as comparing timestamps."""
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)


@given(st.lists(TIMESTAMPS, max_size=20))
def test_sorting_texts_sorts_timestamps(stamps: list[Timestamp]) -> None:
    """Sorting by text and sorting the timestamps give the same sequence."""
    assert [Timestamp.parse(t) for t in sorted(map(str, stamps))] == sorted(stamps)


def test_a_counter_beyond_its_digits_is_refused() -> None:
    """A timestamp whose text would not sort like its fields cannot be made."""
    Timestamp(5, 10**COUNTER_DIGITS - 1, "n")
    with pytest.raises(ValueError, match="out of range"):
        Timestamp(5, 10**COUNTER_DIGITS, "n")


def test_a_full_counter_moves_to_the_next_millisecond() -> None:
    """A million changes in one frozen millisecond spill into the next one, still in order."""
    clock = HybridClock("n", lambda: 5, Timestamp(5, 10**COUNTER_DIGITS - 1, "n"))
    assert clock.now() == Timestamp(6, 0, "n")
    remote = Timestamp(7, 10**COUNTER_DIGITS - 1, "r")
    assert clock.observe(remote) == Timestamp(8, 0, "n")


# --- a remote clock far ahead (decision 0058) ---------------------------------------------------

HOUR_MS = 3_600_000


def test_a_remote_stamp_more_than_the_bound_ahead_is_reported_not_followed() -> None:
    """A node a day ahead: its stamp is reported, and this clock goes on from its own wall."""
    told: list[tuple[Timestamp, int]] = []
    clock = HybridClock(
        "central", wall(10 * HOUR_MS), None, MAX_AHEAD_MS, lambda r, ms: told.append((r, ms))
    )
    far = Timestamp(34 * HOUR_MS, 3, "edge-b")
    assert clock.observe(far) == Timestamp(10 * HOUR_MS, 0, "central")
    assert told == [(far, 24 * HOUR_MS)]
    assert clock.now() == Timestamp(10 * HOUR_MS, 1, "central")


def test_a_remote_stamp_within_the_bound_is_followed() -> None:
    """Ten minutes ahead (the skew the clocks tests require) or exactly the bound: merged."""
    told: list[tuple[Timestamp, int]] = []
    clock = HybridClock(
        "central", wall(HOUR_MS), None, MAX_AHEAD_MS, lambda r, ms: told.append((r, ms))
    )
    ahead = Timestamp(HOUR_MS + 600_000, 0, "edge")
    assert clock.observe(ahead) == Timestamp(HOUR_MS + 600_000, 1, "central")
    assert clock.observe(Timestamp(HOUR_MS + MAX_AHEAD_MS, 0, "edge")).wall_ms == 2 * HOUR_MS
    assert told == []


@given(
    READINGS,
    st.lists(TIMESTAMPS, max_size=10),
    st.lists(st.booleans(), max_size=20),
    st.integers(min_value=0, max_value=10**9),
)
def test_no_remote_drags_the_clock_past_its_bound(
    readings: list[int], remotes: list[Timestamp], steps: list[bool], bound: int
) -> None:
    """Whatever it observes, the clock stays within the bound of its own wall clock's highest
    reading, each result sorts after every earlier one and after every remote it followed."""
    told: list[Timestamp] = []
    clock = HybridClock(
        "me", wall(*readings), max_ahead_ms=bound, on_ahead=lambda r, _: told.append(r)
    )
    pending = iter(remotes)
    results: list[Timestamp] = []
    followed: list[Timestamp] = []
    for local in steps:
        remote = None if local else next(pending, None)
        stamp = clock.now() if remote is None else clock.observe(remote)
        if remote is not None and remote not in told:
            followed.append(remote)
        assert all((stamp.wall_ms, stamp.counter) > (r.wall_ms, r.counter) for r in results)
        assert all((stamp.wall_ms, stamp.counter) > (f.wall_ms, f.counter) for f in followed)
        # one more millisecond at most, where a counter ran out of digits
        assert stamp.wall_ms <= max(readings) + bound + 1
        results.append(stamp)


def test_a_clock_without_a_bound_follows_a_remote_however_far_ahead() -> None:
    """An edge's clock: a slow edge is corrected by central's (which is bounded itself)."""
    clock = HybridClock("edge", wall(HOUR_MS))
    assert clock.observe(Timestamp(3 * HOUR_MS, 0, "central")) == Timestamp(3 * HOUR_MS, 1, "edge")


def test_a_clock_restored_far_ahead_of_the_wall_is_named(caplog: pytest.LogCaptureFixture) -> None:
    """Restarted a day ahead of its wall clock: one ESCALATION line, with how far ahead."""
    day = 86_400_000
    stored = Timestamp(1_800_000_000_000, 3, "C")
    with caplog.at_level(logging.ERROR, logger="yadori.sync"):
        ahead = name_restored_ahead(stored, stored.wall_ms - day, MAX_AHEAD_MS)
    assert ahead == day
    [line] = [r.getMessage() for r in caplog.records]
    assert "ESCALATION hlc_restored_ahead" in line
    assert "86400 s ahead" in line
    assert "2027-01-15T08:00:00+00:00" in line  # the stored time, readable


@pytest.mark.parametrize(
    ("last", "behind_ms"),
    [(None, 0), (Timestamp(5_000, 0, "C"), 0), (Timestamp(5_000, 0, "C"), MAX_AHEAD_MS)],
)
def test_a_clock_restored_within_the_bound_is_not_named(
    last: Timestamp | None, behind_ms: int, caplog: pytest.LogCaptureFixture
) -> None:
    """No line for a fresh node, nor for one restored at most the bound ahead."""
    wall = (last.wall_ms if last else 0) - behind_ms
    with caplog.at_level(logging.ERROR, logger="yadori.sync"):
        ahead = name_restored_ahead(last, wall, MAX_AHEAD_MS)
    assert ahead == behind_ms
    assert not caplog.records
