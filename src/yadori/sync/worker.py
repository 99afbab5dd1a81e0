"""The edge's sync worker: push by priority lane, then pull, until nothing waits.

One cycle: if a cycle failed after central answered some mutations, their results are pulled
first and only what still has none is queued again (decision 0055); batches are pushed in lane
order, never a mutation before its dependencies; then the change feed and this edge's results
are pulled and applied in one transaction per page, the next page asked for while one is
applied. A failed call ends the cycle and tells the connectivity monitor; nothing is lost, the
next cycle resumes. Its ports (the edge's database, the link) are in sync_ports.py, its
pull half in puller.py, what it does with a queue it cannot send as it is in queue_guard.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from yadori.sync.batching import choose_batch
from yadori.sync.canonical import JSON
from yadori.sync.errors import BatchRefused, QueueHeld, SyncError, SyncRefused
from yadori.sync.hlc import HybridClock
from yadori.sync.protocol import SEQ_TAKEN, encode_items
from yadori.sync.puller import Asked, Marking, Puller, page_at_hand
from yadori.sync.queue_guard import QueueGuard
from yadori.sync.sync_ports import (
    Announce,
    CycleReport,
    RidingTransport,
    Store,
    Transport,
    WorkerConfig,
    to_republish,
)

DAMAGED_RETRIES = 3  # pushes started over in a cycle after setting damaged mutations aside
ASK_KEYS = 1_000  # aggregate keys asked to be published again per call (central's bound)
# Central's refusals of an ask to publish again that asking again cannot change: the edge is no
# longer enrolled for the property, the central predates the endpoint, or refuses the keys.
ASK_REFUSED = frozenset({"wrong_property", "no_such_endpoint", "invalid_request"})
log = logging.getLogger("yadori.sync")


class SyncWorker:
    """Pushes and pulls for one edge; ``cycle`` is safe to call from any thread, one at a time."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        origin: str,
        properties: Callable[[], list[str]],
        hlc: HybridClock,
        now: Callable[[], datetime],
        config: WorkerConfig | None = None,
        announce: Announce | None = None,
    ) -> None:
        self._store = store
        self._announce = announce or _silent
        self._transport = transport
        self._origin = origin
        self._properties = properties
        self._now = now
        self._config = config or WorkerConfig()
        self._lock = threading.Lock()
        self._progress = 0  # batches answered, ever (see ``progress``)
        self._failed_ask: str | None = None  # the last error of an ask to publish again
        self._guard = QueueGuard(store, self._announce, now, self._config.batch_bytes)
        self._puller = Puller(
            store, transport, origin, hlc, now, self._config.page_size, self._guard.rejected
        )

    @property
    def progress(self) -> int:
        """How many batches central answered and pages with changes or results were taken.

        A cycle that raised after this moved did not fail outright: the monitor does not back
        off from a long drain that times out now and then (decision 0056).
        """
        return self._progress + self._puller.taken

    def cycle(self) -> CycleReport:
        """Push everything waiting, by lane, then pull everything new.

        Raises SyncError; QueueHeld once the pull is done, when the push had to stop.
        """
        report = CycleReport()
        with self._lock, ThreadPoolExecutor(1, thread_name_prefix="yadori-pull") as pulls:
            properties = self._properties()
            if self._store.has_sent():
                self._results_first(properties, report, pulls)
                self._store.reset_sent()  # what still has no result is sent again

            def ask_ahead() -> Asked | None:
                if not properties:
                    return None
                asked = self._puller.ask_first(properties[0], pulls)
                time.sleep(0)  # let the puller take the interpreter and ask at once
                return asked

            started = time.perf_counter()
            first = properties[0] if properties else None
            ahead, held = None, None
            for _ in range(DAMAGED_RETRIES):
                try:
                    ahead = self._push_all(report, ask_ahead, first)  # the first property's
                    break
                except _SetAside:
                    continue  # without them (after the last try, the pull; then next cycle)
                except QueueHeld as exc:  # raised after the pull: a held queue must not
                    held = exc  # also freeze what the edge sees of central
                    break
            else:  # the last try set some aside: ask for what they touched before the pull
                self._republish(to_republish(self._store.state()))
            report.push_ms = _ms_since(started)
            started = time.perf_counter()
            for property_id in properties:
                asked = ahead if ahead is not None else self._puller.ask_first(property_id, pulls)
                ahead = None
                self._puller.pull_property(property_id, report, pulls, asked)
            report.pull_ms += _ms_since(started)
        if held is not None:
            held.report = report  # the pull was done: the status shows this cycle
            raise held
        return report

    def _results_first(
        self, properties: list[str], report: CycleReport, pulls: ThreadPoolExecutor
    ) -> None:
        """Pull the results of mutations central answered before a cycle failed (0055).

        Central holds them and their results: pulled, they leave the queue without being sent
        again (central would dedup them, but a big queue resent costs as long as it took to
        send). The results are the origin's and come with any property's pages: the first
        property is pulled. If that pull fails, the push goes ahead as before, the answered
        mutations with it: a property whose pull keeps failing must not hold back every
        other write (the pull after the push fails again and says why).
        """
        if not properties:
            return
        started = time.perf_counter()
        try:
            first = properties[0]
            self._puller.pull_property(first, report, pulls, self._puller.ask_first(first, pulls))
        except SyncError as exc:
            log.warning("pulling the results of answered mutations first failed: %s", exc)
        finally:
            report.pull_ms += _ms_since(started)

    def _push_all(
        self,
        report: CycleReport,
        ask_ahead: Callable[[], Asked | None],
        first_property: str | None,
    ) -> Asked | None:
        """Push batch after batch; the next is read and encoded while central applies one.

        Batches still go one at a time and in order (each names the CRC of the one before, and
        is sent only once central has answered it); only the edge's own work overlaps: the
        next batch is sent before the answered one is marked sent. A crash in between leaves
        both pending, to be sent again (central dedups them, and a batch number at or below
        the last it saw is a resend, not a break in the chain). The last batch asks for the
        first property's first pull page in the same call, where the transport can
        (decision 0049); it is returned, already answered, with that batch to be marked sent
        in the transaction that takes the page. Otherwise, once the last batch is
        answered, ``ask_ahead`` sends the first pull request before that batch is marked sent
        (the page needs no cursor the marking changes, and is applied only after it); that
        request is returned.
        """
        state = self._store.state()
        self._republish(to_republish(state))  # asks a failed cycle left
        number, crc = int(state.get("batch_no", "0")), int(state.get("batch_crc", "0"))
        riding = self._riding(first_property, state)
        sending: set[str] = set()  # ids of the batch in flight: still pending in the store
        flying: _Flying | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="yadori-push") as pool:
            while True:
                window = 2 * self._config.batch_size  # the batch in flight and the next
                front = [p for p in self._store.pending(window) if p.id not in sending]
                chosen = choose_batch(front, self._config.batch_size)
                ids = [p.id for p in chosen]
                if ids:
                    items = self._read(ids, report, flying)
                    if items is None:  # some set aside: what they touched is asked for,
                        self._republish(to_republish(self._store.state()))
                        continue  # and the batch chosen again (one in flight stays)
                    ids = ids[: len(items)]
                    # Nothing else waits (the front read may be a window of the queue, the
                    # batch in flight part of it): central then publishes this batch's
                    # changes and those of the batches before at once, for the pull (0042).
                    last = len(ids) == len(front) and not self._store.unsent_beyond(
                        len(ids) + len(sending)
                    )
                    body, next_crc = encode_items(self._origin, number + 1, crc, items, last=last)
                answered = None
                if flying is not None:
                    answered = (self._answer(flying, report), flying)
                    flying = None
                    if taken := _taken(answered[0]):  # the batch read meanwhile may need them
                        self._acknowledged(*answered, report, taken)  # numbered again
                        sending = set()
                        continue  # so it is not sent: the batches are chosen again (0059)
                if ids:
                    number, crc, sending = number + 1, next_crc, set(ids)
                    flying = self._send(pool, body, crc, riding if last else None, ids, number)
                    time.sleep(0)  # let the sender take the interpreter and send at once
                if ids:
                    if answered is not None:
                        self._acknowledged(*answered, report)
                    continue
                if answered is None:
                    return None  # nothing was pushed
                answer, sent = answered
                if sent.riding is not None and isinstance(page := answer.get("page"), dict):
                    # marked sent in the transaction that takes the page: one commit, not two
                    self._count(answer, sent, report)
                    # none of it taken (an answer with any was acknowledged above)
                    marking = Marking(sent.ids, self._sent_state(sent))
                    return Asked(page_at_hand(page), *sent.riding.cursors, marking)
                try:
                    return ask_ahead()  # an older central: pull as before
                finally:  # whatever asking did, the answered batch is marked sent
                    self._acknowledged(answer, sent, report)

    def _read(
        self, ids: list[str], report: CycleReport, flying: _Flying | None
    ) -> list[bytes] | None:
        """The chosen batch read for sending, as ``QueueGuard.encoded`` reads it.

        Before a QueueHeld stops the push, the batch in flight (sent) is answered and marked
        sent; what central holds the seqs of for others is numbered again, as after any answer.
        """
        try:
            return self._guard.encoded(ids, report)
        except QueueHeld:
            if flying is not None:
                answer = self._answer(flying, report)
                self._acknowledged(answer, flying, report, _taken(answer))
            raise

    def _republish(self, asks: dict[str, list[str]]) -> None:
        """Ask central to publish again what mutations set aside touched (decision 0064).

        Central never had them, so nothing would bring this edge central's state of those
        aggregates back. Asked before the batches that follow: the push's last batch (or the
        pull) publishes them, and the edge takes them in this cycle. A refusal of the ask
        itself (``ASK_REFUSED``) drops it, escalated: asking again cannot help. Any other
        failure keeps it for the next cycle, said once, and the push goes on: an ask never
        holds the queue (a link really down fails the push next, as it would have).
        """
        for property_id, keys in asks.items():
            if not keys:  # stored, and damaged since: nothing left to ask for
                log.error(
                    "ESCALATION republish_damaged: this edge's ask that central publish again "
                    "what set-aside mutations of property %s touched no longer reads back; it "
                    "is dropped (the daily reconciliation shows any difference)",
                    property_id,
                )
                self._store.republished(property_id, [])
            for n in range(0, len(keys), ASK_KEYS):
                chunk = keys[n : n + ASK_KEYS]
                try:
                    self._transport.republish(property_id, chunk)
                except SyncRefused as exc:
                    if exc.code not in ASK_REFUSED:
                        self._ask_failed(exc)
                        return
                    log.error(
                        "ESCALATION republish_refused: central refused to publish again %d "
                        "aggregate(s) of property %s that set-aside mutations touched (%s); "
                        "this edge keeps their effects until central changes them, or the "
                        "daily reconciliation shows the difference",
                        len(chunk),
                        property_id,
                        exc,
                    )
                except SyncError as exc:
                    self._ask_failed(exc)
                    return
                self._store.republished(property_id, chunk)
                self._failed_ask = None

    def _ask_failed(self, exc: SyncError) -> None:
        """An ask to publish again failed: kept for the next cycle; said once per error."""
        error = f"{type(exc).__name__}: {exc}"
        if error != self._failed_ask:
            log.warning(
                "asking central to publish again what set-aside mutations touched failed (%s); "
                "asked again next cycle, and the push goes on",
                error,
            )
        self._failed_ask = error

    def _answer(self, sent: _Flying, report: CycleReport) -> dict[str, JSON]:
        """Central's answer to a batch in flight.

        A batch refused as damaged is looked at here: if some of its mutations were damaged
        at rest in this edge's database (sending them again cannot help), they are set aside
        and the push starts over without them; otherwise it was damaged on the way, and the
        refusal ends the cycle, to send it again.
        """
        try:
            return sent.future.result()
        except BatchRefused:
            if self._guard.set_aside(sent.ids, report):
                raise _SetAside from None
            raise

    def _riding(self, property_id: str | None, state: dict[str, str]) -> _Riding | None:
        """The first pull's parameters, for the last batch to carry (None: it cannot)."""
        if property_id is None or not isinstance(self._transport, RidingTransport):
            return None
        since = int(state.get(f"cursor:{property_id}", "0"))
        results_no = int(state.get("results_no", "0"))
        params = self._puller.params(property_id, since, results_no)
        return _Riding(self._transport.push_pulling, params, (since, results_no))

    def _send(  # noqa: PLR0917 - one batch in flight and what to mark when answered
        self,
        pool: ThreadPoolExecutor,
        body: bytes,
        crc: int,
        riding: _Riding | None,
        ids: list[str],
        number: int,
    ) -> _Flying:
        if riding is not None:
            future = pool.submit(riding.send, body, crc, riding.params)
        else:
            future = pool.submit(self._transport.push, body, crc)
        return _Flying(future, ids, number, crc, riding)

    def _acknowledged(
        self,
        answer: dict[str, JSON],
        sent: _Flying,
        report: CycleReport,
        taken: set[str] | None = None,
    ) -> None:
        """Mark an answered batch sent, all but ``taken`` (numbered again).

        ``taken``: what central holds the seqs of, found in the answer before it is
        acknowledged (every answer is looked at for them first).
        """
        taken = taken or set()
        self._store.mark_sent([i for i in sent.ids if i not in taken], self._sent_state(sent))
        self._count(answer, sent, report)
        self._renumber(taken, answer)

    def _renumber(self, taken: set[str], answer: dict[str, JSON]) -> None:
        """Number again what central holds the seqs of for others, to send it again (0059)."""
        if not taken:
            return
        last_seq = answer.get("last_seq")
        moved = self._store.renumber(sorted(taken), last_seq if isinstance(last_seq, int) else 0)
        for alert in moved.alerts:
            log.error("ESCALATION %s: %s", alert["kind"], alert["message"])
            self._announce("alert", {**alert, "at": moved.at.isoformat()})

    def _sent_state(self, sent: _Flying) -> dict[str, str]:
        """What marking a batch sent stores: its place in the chain, and when."""
        return {
            "batch_no": str(sent.number),
            "batch_crc": str(sent.crc),
            "last_push_ok": self._now().isoformat(),
        }

    def _count(self, answer: dict[str, JSON], sent: _Flying, report: CycleReport) -> None:
        self._progress += 1
        report.pushed += len(sent.ids)
        report.batches += 1
        results = answer.get("results")
        if isinstance(results, list):
            report.rejected += sum(
                1 for r in results if isinstance(r, dict) and r.get("result") == "rejected"
            )


def _taken(answer: dict[str, JSON]) -> set[str]:
    """The mutations of a push's answer whose seqs central holds for others (``SEQ_TAKEN``)."""
    results = answer.get("results")
    if not isinstance(results, list):
        return set()
    return {
        str(r.get("mutation_id"))
        for r in results
        if isinstance(r, dict) and r.get("result") == SEQ_TAKEN
    }


def _silent(kind: str, data: dict[str, JSON]) -> None:
    """No one to tell (a worker without an events hub)."""


class _SetAside(Exception):
    """Damaged mutations of a refused batch were set aside: push again without them."""


@dataclass(frozen=True, slots=True)
class _Riding:
    """How a push's last batch is sent with the first pull's parameters, and their cursors."""

    send: Callable[[bytes, int, dict[str, str | int]], dict[str, JSON]]  # push_pulling
    params: dict[str, str | int]
    cursors: tuple[int, int]  # since, results_no


@dataclass(frozen=True, slots=True)
class _Flying:
    """A batch in flight: its answer to come, and what marking it sent stores."""

    future: Future[dict[str, JSON]]
    ids: list[str]
    number: int
    crc: int
    riding: _Riding | None


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
