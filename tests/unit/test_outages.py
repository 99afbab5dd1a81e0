"""The outage book: an outage opens, sees the link back and closes with the link's state."""

from __future__ import annotations

from datetime import UTC, datetime

from yadori.sync.connectivity import LinkState
from yadori.sync.outages import OutageBook

AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


class Log:
    """An outage log in memory, whose writes can be made to fail."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.written: list[tuple[object, ...]] = []

    def _write(self, *entry: object) -> None:
        if entry[0] in self.failing:
            raise OSError(f"{entry[0]}: disk full")
        self.written.append(entry)

    def open_outage(self, at: datetime) -> str:
        self._write("open", at)
        return "o1"

    def link_back(self, outage_id: str) -> None:
        self._write("back", outage_id)

    def close_outage(self, outage_id: str, at: datetime, seconds: float) -> None:
        self._write("close", outage_id, at, seconds)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def book(log: Log, clock: Clock, failed: list[str]) -> OutageBook:
    return OutageBook(log, clock, lambda what, exc: failed.append(f"{what}: {exc}"))  # type: ignore[arg-type]


def test_an_outage_is_opened_seen_back_and_closed_by_the_monotonic_clock() -> None:
    log, clock = Log(), Clock()
    failed: list[str] = []
    outages = book(log, clock, failed)
    outages.moved(LinkState.OFFLINE, AT)
    assert outages.started == AT
    clock.now += 30
    outages.moved(LinkState.OFFLINE, AT)  # still down: nothing new
    outages.moved(LinkState.RECOVERING, AT)
    clock.now += 2
    outages.moved(LinkState.ONLINE, AT)
    assert log.written == [("open", AT), ("back", "o1"), ("close", "o1", AT, 32.0)]
    assert outages.started is None
    assert failed == []


def test_its_length_is_told_once_when_it_passes_the_limit_and_again_next_outage() -> None:
    clock = Clock()
    outages = book(Log(), clock, [])
    assert outages.overdue(10) is None  # no outage
    outages.moved(LinkState.OFFLINE, AT)
    clock.now += 9
    assert outages.overdue(10) is None
    clock.now += 2
    assert outages.overdue(10) == 11
    assert outages.overdue(10) is None  # once
    outages.moved(LinkState.ONLINE, AT)
    outages.moved(LinkState.OFFLINE, AT)
    clock.now += 10
    assert outages.overdue(10) == 10


def test_a_failed_write_is_reported_and_the_outage_still_timed() -> None:
    log, clock = Log(failing=("open",)), Clock()
    failed: list[str] = []
    outages = book(log, clock, failed)
    outages.moved(LinkState.OFFLINE, AT)
    assert failed == ["the outage log: open: disk full"]
    assert outages.started == AT
    clock.now += 60
    assert outages.overdue(30) == 60
    outages.moved(LinkState.RECOVERING, AT)
    outages.moved(LinkState.ONLINE, AT)
    assert log.written == []  # no row to see back or close
    assert outages.started is None


def test_an_outage_the_node_was_stopped_during_counts_from_its_start() -> None:
    """Resumed after a restart: its length and its threshold count from when it started."""
    log, clock = Log(), Clock()
    outages = book(log, clock, [])
    started = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    outages.resume("o9", started, AT)  # stopped for an hour
    assert outages.started == started
    assert outages.overdue(3_600) == 3_600
    clock.now += 5
    outages.moved(LinkState.RECOVERING, AT)
    outages.moved(LinkState.ONLINE, AT)
    assert log.written == [("back", "o9"), ("close", "o9", AT, 3_605.0)]
