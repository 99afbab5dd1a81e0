"""The worker reads and encodes the next batch while central applies one; the chain holds.

A real edge (SQLite, its real store) with a queue of real mutations; the transport records
each batch as central would receive it (decoded and CRC-checked) and answers batch n only once
the worker has started preparing batch n + 1 (its (n + 1)th look at the queue), or after a
while. A worker that waits for each answer before reading on never lets that happen in time;
no thread timing decides the outcome.
"""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from support.sync import hotel_worker
from yadori.bootstrap import Yadori
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.storage.tables import outbox, sync_state
from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncRefused
from yadori.sync.protocol import BATCH_FRAME, decode_batch
from yadori.sync.queue_guard import BRAKE_WINDOW
from yadori.sync.sync_ports import REPUBLISH, TOO_LARGE, Aside, to_republish

PATIENCE_S = 2.0  # how long central waits to see the next batch being prepared


@dataclass
class Central:
    """Checks the chain of batches; answers each once the next is being prepared."""

    batches: list[tuple[int, int, list[str]]] = field(default_factory=list)  # no, crc, ids
    in_flight: threading.Event = field(default_factory=threading.Event)
    looks: int = 0  # the worker's looks at the queue so far
    looked: threading.Condition = field(default_factory=threading.Condition)
    prepared_meanwhile: int = 0
    last: list[bool] = field(default_factory=list)  # each batch: sent as the push's last?
    sizes: list[int] = field(default_factory=list)  # each batch: its bytes, uncompressed
    asked: list[tuple[str, list[str]]] = field(default_factory=list)  # to publish again (0064)
    refusal: SyncRefused | None = None  # what an ask to publish again meets, if not taken

    def look(self) -> None:
        """The worker looked at the queue (to prepare its next batch)."""
        with self.looked:
            self.looks += 1
            self.looked.notify_all()

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        batch = decode_batch(body, crc)
        assert not self.in_flight.is_set(), "two batches in flight at once"
        self.in_flight.set()
        if self.batches:
            number, previous, _ = self.batches[-1]
            assert (batch.number, batch.prev_crc) == (number + 1, previous)
        with self.looked:  # look n prepared batch n; look n + 1 prepares the next meanwhile
            if self.looked.wait_for(lambda: self.looks > batch.number, PATIENCE_S):
                self.prepared_meanwhile += 1
        self.batches.append((batch.number, crc, [i.mutation.id for i in batch.items]))
        self.last.append(batch.last)
        self.sizes.append(len(zlib.decompress(body)))
        self.in_flight.clear()
        return {"results": [{"result": "applied"} for _ in batch.items], "chain_ok": True}

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        return {"changes": [], "results": [], "cursor": params["since"], "more": False}

    def republish(self, property_id: str, keys: list[str]) -> dict[str, JSON]:
        self.asked.append((property_id, keys))
        if self.refusal is not None:
            raise self.refusal
        return {"marked": len(keys)}


def test_batches_go_in_order_chained_and_the_next_is_prepared_meanwhile(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """25 charges in batches of 10: three batches, each after the one before was answered;
    only the third says it is the last (central then publishes at once, decision 0042). The
    store looks at a window of two batches of the queue, as in production (2,000 for 1,000): with
    one batch in flight, what is left of the window fits one batch, and yet more waits."""
    edge_hotel.charges(range(100, 2_600, 100))
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    queued = store.pending_count()
    central = Central()
    pending = store.pending

    def watched_pending(window: int) -> object:
        central.look()
        assert window == 20  # two batches
        return pending(window)

    store.pending = watched_pending  # type: ignore[method-assign]
    report = hotel_worker(edge_hotel, store, central, batch_size=10).cycle()
    sizes = [len(ids) for _, _, ids in central.batches]
    assert sum(sizes) == report.pushed == queued
    assert max(sizes) <= 10 + 2  # a dependency chain may stretch a batch a little
    # every batch, the last included (its look finds the queue empty), overlapped the next look
    assert central.prepared_meanwhile == len(central.batches)
    sent = [i for _, _, ids in central.batches for i in ids]
    assert len(sent) == len(set(sent))  # none twice
    number, crc, _ = central.batches[-1]
    assert store.state()["batch_no"] == str(number)
    assert store.state()["batch_crc"] == str(crc)
    assert not store.has_unsent()
    assert central.last == [False] * (len(central.batches) - 1) + [True]


def test_a_batch_larger_than_central_takes_goes_in_leading_parts(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """With room for three of its largest mutations per batch, a queue chosen in batches of 10 is
    sent in batches of at most that many bytes: each a leading part of the batch chosen (so no
    mutation before its dependencies), still chained, none twice, only the very last marked
    so; everything is sent in one cycle."""
    edge_hotel.charges(range(100, 1_300, 100))
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    queued = store.pending_count()
    sizes = [len(b) for b in store.encoded_items([p.id for p in store.pending(100)])]
    limit = BATCH_FRAME + 3 * (max(sizes) + 1)
    central = Central(looks=1_000)  # answers at once: the overlap is the test above's matter
    report = hotel_worker(edge_hotel, store, central, batch_size=10, batch_bytes=limit).cycle()
    assert report.pushed == queued
    assert max(central.sizes) <= limit
    assert max(len(ids) for _, _, ids in central.batches) < 10 <= queued  # cut short
    assert len(central.batches) >= queued / (3 + BATCH_FRAME / min(sizes))
    sent = [i for _, _, ids in central.batches for i in ids]
    assert len(sent) == len(set(sent)) == queued
    assert central.last == [False] * (len(central.batches) - 1) + [True]
    assert not store.has_unsent()


def test_mutations_larger_than_a_batch_are_set_aside_and_never_sent(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """A queued mutation that alone is larger than a batch may be can never be sent: each is
    set aside (rejected, too_large_to_send, an alert each) and the cycle ends normally, the
    link online; nothing reaches central, nothing waits."""
    edge_hotel.charges([100, 200])
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    queued = store.pending_count()
    central = Central(looks=1_000)
    report = hotel_worker(edge_hotel, store, central, batch_bytes=BATCH_FRAME + 50).cycle()
    assert (report.pushed, report.rejected) == (0, queued)
    assert central.batches == []
    assert store.pending_count() == 0
    assert store.set_aside_since(datetime.now(UTC) - BRAKE_WINDOW) == queued
    later = datetime.now(UTC) + timedelta(hours=1)
    assert store.set_aside_since(later) == 0  # counted by when each was set aside
    stats = store.queue()
    assert {r["reason"].partition(":")[0] for r in stats.rejected} == {"too_large_to_send"}
    assert [a["kind"] for a in store.alerts()] == ["outbox_too_large"] * queued
    # central never had them: it is asked to publish again all they touched (0064), as each
    # is set aside (before the batches after it)
    asked = {k for p, keys in central.asked for k in keys if p == edge_hotel.property_id}
    assert len(central.asked) <= queued
    assert asked == _touched(edge)
    assert _asks(store) == {}


def _touched(edge: Yadori) -> set[str]:
    """Every aggregate the edge's outbox says its mutations touched, unscoped; a list that does
    not read back counts for none."""
    query = sa.select(outbox.c.aggregates).where(outbox.c.aggregates != "{\x00")
    with edge.engine.connect() as conn:
        stored = conn.execute(query).scalars()
        return {k.partition("/")[2] for keys in stored for k in json.loads(keys)}


def _asks(store: EdgeSyncStore) -> dict[str, list[str]]:
    return to_republish(store.state())


def test_an_ask_to_publish_again_is_kept_until_central_takes_it(
    edge_hotel: Hotel, edge: Yadori, caplog: pytest.LogCaptureFixture
) -> None:
    """The queue's mutations are set aside one by one, each asked for. A mutation whose list
    of aggregates no longer reads back is named in the log and asks nothing. A refusal that
    asking again may overcome (an expired token) keeps the ask, said once, and the queue goes
    on; what central took is no longer asked, the rest is; a refusal of the ask itself (a
    property the edge left) drops it with an ESCALATION line, and so does an ask damaged on
    the disk."""
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    first = store.pending(100)[0].id
    with edge.engine.begin() as conn:  # its list of aggregates damaged on the disk
        conn.execute(sa.update(outbox).where(outbox.c.id == first).values(aggregates="{\x00"))
    central = Central(looks=1_000, refusal=SyncRefused("token expired", "token_expired"))
    worker = hotel_worker(edge_hotel, store, central, batch_bytes=BATCH_FRAME + 50)
    with caplog.at_level("WARNING", logger="yadori.sync"):
        report = worker.cycle()
    assert report.rejected == store.set_aside_since(datetime.now(UTC) - BRAKE_WINDOW) > 1
    assert store.pending_count() == 0  # the asks failed, the queue went on
    assert f"queued mutation {first} was set aside, and what it touched does not read" in (
        caplog.text
    )
    assert caplog.text.count("asked again next cycle, and the push goes on") == 1
    pid = edge_hotel.property_id
    keys = sorted(_touched(edge))  # what every other mutation touched
    assert _asks(store) == {pid: keys}  # kept for the next cycle
    store.republished(pid, keys[:1])  # central took some: the rest is asked next time
    assert _asks(store) == {pid: keys[1:]}
    central.refusal = SyncRefused("not enrolled", "wrong_property")
    caplog.clear()
    with caplog.at_level("ERROR", logger="yadori.sync"):
        worker.cycle()
    assert "ESCALATION republish_refused" in caplog.text
    assert central.asked[-1] == (pid, keys[1:])
    assert _asks(store) == {}
    with edge.engine.begin() as conn:  # an ask damaged on the disk
        conn.execute(sa.insert(sync_state).values(name=f"{REPUBLISH}{pid}", value="{\x00"))
    asked = len(central.asked)
    with caplog.at_level("ERROR", logger="yadori.sync"):
        worker.cycle()
    assert "ESCALATION republish_damaged" in caplog.text
    assert len(central.asked) == asked
    assert _asks(store) == {}


def test_a_set_aside_that_touched_nothing_the_feed_carries_asks_nothing(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    """A mutation whose aggregates are none the feed carries (a failed login's) leaves no ask
    behind: an empty one would read as damaged, and be escalated for nothing."""
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))
    first = store.pending(100)[0].id
    pid = edge_hotel.property_id
    with edge.engine.begin() as conn:
        keys = json.dumps([f"{pid}/login:{first}", f"{pid}/folio:", f"{pid}/room:{'1' * 37}"])
        conn.execute(sa.update(outbox).where(outbox.c.id == first).values(aggregates=keys))
    store.set_aside([first], Aside(TOO_LARGE, "too large", "outbox_too_large", "set aside"))
    assert _asks(store) == {}
