"""The lockout policy: the fifth wrong PIN locks for fifteen minutes; a success clears the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yadori.auth.lockout import LockoutPolicy, LockState, after_failure, after_success

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy()


def _fail(times: int, at: datetime = T0, state: LockState | None = None) -> LockState:
    state = state or LockState()
    for _ in range(times):
        state = after_failure(state, at, POLICY)
    return state


def test_four_failures_do_not_lock() -> None:
    """Four wrong PINs leave the account open."""
    state = _fail(4)
    assert state.failures == 4
    assert not state.locked(T0)
    assert state.seconds_left(T0) == 0


def test_fifth_failure_locks_for_fifteen_minutes() -> None:
    """The fifth locks until 15 minutes later, and not a second longer."""
    state = _fail(5)
    assert state.locked(T0 + timedelta(minutes=14, seconds=59))
    assert state.seconds_left(T0) == 900
    assert not state.locked(T0 + timedelta(minutes=15))


def test_a_failure_after_the_lock_starts_a_new_count() -> None:
    """After the lock runs out one more failure does not lock again at once."""
    later = T0 + timedelta(minutes=16)
    state = _fail(1, later, _fail(5))
    assert state.failures == 1
    assert not state.locked(later)


def test_success_clears_the_count() -> None:
    """A right PIN resets the failures."""
    assert after_success(_fail(3)) == LockState()


def test_policy_is_configurable() -> None:
    """Three failures and one minute, when configured so."""
    policy = LockoutPolicy(max_failures=3, lock_for=timedelta(minutes=1))
    state = LockState()
    for _ in range(3):
        state = after_failure(state, T0, policy)
    assert state.locked(T0 + timedelta(seconds=59))
    assert not state.locked(T0 + timedelta(minutes=1))
