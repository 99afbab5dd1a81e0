"""The lockout policy: so many wrong PINs lock an account for a while.

Pure: the state is a count and an end time, stored by the node (it survives a restart) and
synced to central as login attempts; the policy says what one attempt does to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """How many failures lock an account, and for how long."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class LockState:
    """Consecutive failures since the last success, and when a lock ends (None: not locked)."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        """Whether the account is locked at ``now``."""
        return self.locked_until is not None and now < self.locked_until

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the lock ends (0 when not locked)."""
        if not self.locked(now):
            return 0
        assert self.locked_until is not None  # noqa: S101 - locked() checked it
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))


def after_failure(state: LockState, at: datetime, policy: LockoutPolicy) -> LockState:
    """One more wrong PIN; the ``max_failures``-th locks the account from ``at``.

    A failure after a lock has run out starts a new count, so each lock needs a full run.
    """
    failures = state.failures
    if state.locked_until is not None and at >= state.locked_until:
        failures = 0
    failures += 1
    if failures >= policy.max_failures:
        return LockState(failures, at + policy.lock_for)
    return LockState(failures, state.locked_until if state.locked(at) else None)


def after_success(state: LockState) -> LockState:
    """A right PIN while not locked clears the count."""
    return LockState()
