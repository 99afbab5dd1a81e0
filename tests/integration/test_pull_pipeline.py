"""The worker asks for the next pull page while it applies one; pages still apply in order.

A real edge (SQLite, its real store) with 25 real mutations pushed; the transport answers the
push as central would and serves this edge's results in pages of 10. Applying page n waits
until the request for page n + 1 has arrived, or 10 s: a worker that asks only after applying
never lets that happen, and a correct one asks within milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from support.hotel import Hotel
from support.sync import hotel_worker
from yadori.bootstrap import Yadori
from yadori.storage.edge_sync import CorruptChange, EdgeSyncStore
from yadori.sync.canonical import JSON
from yadori.sync.errors import LinkDown
from yadori.sync.protocol import PulledChange, PulledResult, decode_batch
from yadori.sync.worker import SyncWorker

PATIENCE_S = 10.0  # how long applying a page waits to see the next one asked for
PAGE = 10


@dataclass
class Central:
    """Answers pushes; serves the pushed mutations' results, PAGE at a time."""

    sent: list[str] = field(default_factory=list)  # mutation ids, in the order pushed
    asked: list[int] = field(default_factory=list)  # results_after of each pull request
    fail_after: int | None = None  # refuse pull requests after this many
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        batch = decode_batch(body, crc)
        self.sent += [i.mutation.id for i in batch.items if i.mutation.id not in self.sent]
        return {"results": [{"result": "applied"} for _ in batch.items], "chain_ok": True}

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        after = int(params["results_after"])
        with self.arrived:
            self.asked.append(after)
            self.arrived.notify_all()
        if self.fail_after is not None and len(self.asked) > self.fail_after:
            raise LinkDown("the link went down")
        page = self.sent[after : after + int(params["limit"])]
        return {
            "changes": [],
            "results": [{"mutation_id": m, "result": "applied", "tickets": []} for m in page],
            "cursor": int(params["since"]),
            "results_no": after + len(page),
            "more": len(page) == int(params["limit"]),
            "hlc": "",
        }

    def wait_for_request(self, count: int) -> bool:
        """Whether the ``count``th pull request arrives in time."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.asked) >= count, PATIENCE_S)


@dataclass
class Applied:
    """What each apply of a page saw."""

    finals: list[bool] = field(default_factory=list)
    results: list[list[str]] = field(default_factory=list)
    next_asked_meanwhile: int = 0


def _worker_with(
    edge_hotel: Hotel, edge: Yadori, central: Central
) -> tuple[SyncWorker, EdgeSyncStore, Applied]:
    edge_hotel.charges(range(100, 2_500, 100))
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    applied = Applied()
    apply_pull = store.apply_pull

    def watched_apply(
        changes: list[PulledChange],
        results: list[PulledResult],
        state: dict[str, str],
        *,
        final: bool = True,
        sent: list[str] | None = None,
    ) -> int:
        page = len(applied.finals) + 1
        if not final and central.wait_for_request(page + 1):
            applied.next_asked_meanwhile += 1
        applied.finals.append(final)
        applied.results.append([r.mutation_id for r in results])
        return apply_pull(changes, results, state, final=final, sent=sent)

    store.apply_pull = watched_apply  # type: ignore[method-assign]
    return hotel_worker(edge_hotel, store, central, batch_size=100, page_size=PAGE), store, applied


def test_the_next_page_is_asked_for_while_one_is_applied(edge_hotel: Hotel, edge: Yadori) -> None:
    """25 results (and the booking's) in pages of 10: each page but the last overlapped."""
    central = Central()
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    report = worker.cycle()
    pages = -(-(queued + 1) // PAGE)  # a last page of fewer than PAGE says there is no more
    assert report.results == queued == len(central.sent)
    assert applied.finals == [False] * (pages - 1) + [True]  # in order, only the last final
    assert applied.next_asked_meanwhile == pages - 1
    assert central.asked == [PAGE * n for n in range(pages)]  # each from the page before
    assert [m for page in applied.results for m in page] == central.sent
    assert store.pending_count() == 0
    assert store.state()["results_no"] == str(queued)


def test_a_failed_request_for_the_next_page_leaves_this_one_taken(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """The link fails on the second page's request: the first is applied and its cursor kept,
    the cycle fails, and the next cycle resumes from there."""
    central = Central(fail_after=1)
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    with pytest.raises(LinkDown):
        worker.cycle()
    assert applied.finals == [False]
    assert store.state()["results_no"] == str(PAGE)
    assert store.pending_count() == queued - PAGE
    central.fail_after = None
    worker.cycle()  # what was sent and not answered is sent again; central knows it
    assert central.asked[:3] == [0, PAGE, PAGE]
    assert store.pending_count() == 0
    assert store.state()["results_no"] == str(queued)


def test_a_page_that_fails_to_apply_moves_no_cursor_and_drops_the_next(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """Taking the first page fails while the second is asked for: the cycle fails, nothing of
    either page is kept, and the next cycle pulls from the same cursors."""
    central = Central()
    worker, store, _ = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    taking = store.apply_pull

    def failing(*args: object, **kwargs: object) -> int:
        assert central.wait_for_request(2)  # the next page was asked for meanwhile
        raise CorruptChange("a page that does not check")

    store.apply_pull = failing  # type: ignore[assignment]
    with pytest.raises(CorruptChange):
        worker.cycle()
    assert "results_no" not in store.state()
    assert store.pending_count() == queued
    store.apply_pull = taking  # type: ignore[method-assign]
    worker.cycle()
    assert central.asked[2] == 0  # from the start again
    assert store.pending_count() == 0
    assert store.state()["results_no"] == str(queued)


def _marking_watched(store: EdgeSyncStore, central: Central) -> list[bool]:
    """For each batch marked sent: whether the first pull was asked for meanwhile."""
    seen: list[bool] = []
    mark_sent = store.mark_sent

    def watched(ids: list[str], state: dict[str, str] | None = None) -> None:
        seen.append(central.wait_for_request(1))
        mark_sent(ids, state)

    store.mark_sent = watched  # type: ignore[method-assign]
    return seen


def test_the_first_page_is_asked_for_while_the_last_batch_is_marked_sent(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """Once central has answered the push's last batch, the pull is asked for at once: the
    edge marks the batch sent while central reads the page. The page is still applied after
    the batch is marked, so its results find their mutations sent."""
    central = Central()
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    seen = _marking_watched(store, central)
    queued = store.pending_count()
    report = worker.cycle()
    assert report.batches == 1
    assert seen == [True]
    assert central.asked[0] == 0
    assert applied.finals[-1] is True
    assert report.results == queued
    assert store.pending_count() == 0
    assert store.state()["batch_no"] == "1"


def test_a_pull_asked_ahead_that_fails_leaves_the_push_stored(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """The link fails on the pull asked for while the last batch is marked sent: the batch is
    marked all the same (its place in the chain stored), the cycle fails, and the next cycle
    sends the batch again (central knows it: nothing new) and pulls every result."""
    central = Central(fail_after=0)
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    with pytest.raises(LinkDown):
        worker.cycle()
    assert applied.finals == []
    assert store.state()["batch_no"] == "1"
    assert store.pending_count() == queued  # sent, waiting for results
    central.fail_after = None
    pushed = len(central.sent)
    report = worker.cycle()
    assert len(central.sent) == pushed
    assert report.results == queued
    assert store.pending_count() == 0


def test_asking_ahead_that_fails_at_the_edge_still_marks_the_batch_sent(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """Reading the cursors for the pull asked ahead fails (the edge's database, say): the
    answered batch is marked sent all the same, then the cycle fails with that error, and the
    next cycle pulls every result."""
    central = Central()
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    reads = 0
    state = store.state

    def failing_second_read() -> dict[str, str]:
        nonlocal reads
        reads += 1
        if reads == 2:  # the first is the push's chain place, the second the pull's cursors
            raise OSError("disk I/O error")
        return state()

    store.state = failing_second_read  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk I/O"):
        worker.cycle()
    assert central.asked == []
    assert applied.finals == []
    assert state()["batch_no"] == "1"
    assert store.pending_count() == queued  # sent, waiting for results
    report = worker.cycle()
    assert report.results == queued
    assert store.pending_count() == 0


def test_marking_that_fails_while_the_pull_is_asked_for_applies_no_page(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """Marking the last batch sent fails while its pull request is in flight: the cycle fails
    with that error once the request is answered, no page is applied and no cursor moves; the
    next cycle sends the batch again and takes every result."""
    central = Central()
    worker, store, applied = _worker_with(edge_hotel, edge, central)
    queued = store.pending_count()
    mark_sent = store.mark_sent

    def failing(ids: list[str], state: dict[str, str] | None = None) -> None:
        assert central.wait_for_request(1)
        raise OSError("disk full")

    store.mark_sent = failing  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        worker.cycle()
    assert central.asked == [0]
    assert applied.finals == []
    assert "batch_no" not in store.state()
    assert "results_no" not in store.state()
    assert store.pending_count() == queued
    store.mark_sent = mark_sent  # type: ignore[method-assign]
    report = worker.cycle()
    assert report.results == queued
    assert store.pending_count() == 0
