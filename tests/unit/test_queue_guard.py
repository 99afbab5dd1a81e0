"""The set-aside brake's arithmetic (decisions 0051, 0063, 0065), on a fake edge store.

The store is a fake of the edge's SQLite here: this is the guard's policy only. The real store
and the `yadori edge release-brake` command are tested over HTTP in test_sync_http.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from yadori.sync.errors import QueueHeld
from yadori.sync.queue_guard import BRAKE_WINDOW, MAX_SET_ASIDE, QueueGuard
from yadori.sync.sync_ports import BRAKE_ALLOWS, BRAKE_RELEASED, Aside, CycleReport, SetAside

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Store:
    """The queue's set-asides: when each was set aside, and the stored state."""

    set_aside_at: list[datetime] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    def set_aside_since(self, since: datetime) -> int:
        return sum(1 for at in self.set_aside_at if at >= since)

    def state(self) -> dict[str, str]:
        return dict(self.values)

    def damaged(self, ids: list[str]) -> list[str]:
        return ids

    def set_aside(self, ids: list[str], why: Aside) -> SetAside:
        self.set_aside_at += [NOW] * len(ids)
        return SetAside(ids, f"{why.code}: {why.reason}", NOW, [])


def guard(store: Store) -> QueueGuard:
    return QueueGuard(store, lambda kind, data: None, lambda: NOW, 1_000)  # type: ignore[arg-type]


def ids(n: int) -> list[str]:
    return [f"m{i}" for i in range(n)]


def test_the_brake_holds_past_its_limit_within_its_window() -> None:
    """MAX_SET_ASIDE within BRAKE_WINDOW may be set aside; one more holds the queue; those
    older than the window no longer count."""
    store = Store(set_aside_at=[NOW - BRAKE_WINDOW - timedelta(minutes=1)] * 50)
    assert guard(store).set_aside(ids(MAX_SET_ASIDE), CycleReport())
    with pytest.raises(QueueHeld, match=f"after {MAX_SET_ASIDE} set aside in the last 24 hours"):
        guard(store).set_aside(ids(1), CycleReport())
    with pytest.raises(QueueHeld, match="m0, m1, m2 and 2 more cannot be sent") as held:
        guard(store).set_aside(ids(5), CycleReport())
    assert f"of at most {MAX_SET_ASIDE}" in str(held.value)
    assert "release-brake --allow 5` or more" in str(held.value)


@pytest.mark.parametrize(
    ("released_ago", "allows", "may"),
    [
        (timedelta(hours=1), "3", 3),  # released: what IT allowed, counted since the release
        (timedelta(hours=1), "500", 500),
        (BRAKE_WINDOW, "500", MAX_SET_ASIDE),  # a window later: the brake as before
        (-timedelta(hours=1), "500", MAX_SET_ASIDE),  # a release "in the future" (clock moved)
        (timedelta(hours=1), "many", MAX_SET_ASIDE),  # a state that does not read back
        (timedelta(hours=1), "²", MAX_SET_ASIDE),  # a digit int() does not take
    ],
)
def test_a_release_lets_what_it_allows_be_set_aside_for_a_window(
    released_ago: timedelta, allows: str, may: int
) -> None:
    """Set-asides before the release do not count against it (the brake held for them)."""
    store = Store(
        set_aside_at=[NOW - timedelta(hours=2)] * MAX_SET_ASIDE,
        values={BRAKE_RELEASED: (NOW - released_ago).isoformat(), BRAKE_ALLOWS: allows},
    )
    counted = MAX_SET_ASIDE if may == MAX_SET_ASIDE else 0
    with pytest.raises(QueueHeld):
        guard(store).set_aside(ids(may - counted + 1), CycleReport())
    assert len(store.set_aside_at) == MAX_SET_ASIDE  # nothing set aside when it holds
    if may > counted:
        assert guard(store).set_aside(ids(may - counted), CycleReport())
        assert len(store.set_aside_at) == MAX_SET_ASIDE + may - counted


@pytest.mark.parametrize(
    "released",
    ["yesterday", "2026-12-01T08:00:00"],  # damaged on the disk; a time without its zone
)
def test_a_release_that_does_not_read_back_is_ignored(
    released: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The brake is then as before (never an error that would stop every cycle), and the log
    says why."""
    store = Store(values={BRAKE_RELEASED: released, BRAKE_ALLOWS: "500"})
    with caplog.at_level("ERROR", logger="yadori.sync"):
        assert guard(store).set_aside(ids(MAX_SET_ASIDE), CycleReport())
        with pytest.raises(QueueHeld, match="in the last 24 hours"):
            guard(store).set_aside(ids(1), CycleReport())
    assert "the set-aside brake's release" in caplog.text
