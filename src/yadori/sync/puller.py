"""The pull half of the edge's sync worker: pages of changes and results, in order.

A property's pages are taken one at a time, each in one transaction with the cursors it
brings; the next page is asked for while one is applied. The first page of the first property
may have come with the push's last batch (decision 0049): it then marks that batch sent in the
transaction that takes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from yadori.sync.canonical import JSON
from yadori.sync.hlc import HybridClock, Timestamp
from yadori.sync.protocol import pulled_change, pulled_cursor, pulled_list, pulled_result
from yadori.sync.sync_ports import CycleReport, Store, Transport

log = logging.getLogger("yadori.sync")

Rejected = Callable[[list[tuple[str, str]]], None]
"""Tells the staff banner which mutations central rejected, and why."""


class Puller:
    """Pulls pages for one edge (its worker calls it, one cycle at a time)."""

    def __init__(  # noqa: PLR0917 - the worker's own parts, handed on
        self,
        store: Store,
        transport: Transport,
        origin: str,
        hlc: HybridClock,
        now: Callable[[], datetime],
        page_size: int,
        rejected: Rejected,
    ) -> None:
        self._store = store
        self._transport = transport
        self._origin = origin
        self._hlc = hlc
        self._now = now
        self._page_size = page_size
        self._rejected = rejected
        self.taken = 0  # pages taken that held something, ever (in the worker's ``progress``)

    def ask_first(self, property_id: str, pool: ThreadPoolExecutor) -> Asked:
        """Send a property's first pull request, from the stored cursors."""
        state = self._store.state()
        since = int(state.get(f"cursor:{property_id}", "0"))
        results_no = int(state.get("results_no", "0"))
        params = self.params(property_id, since, results_no)
        return Asked(pool.submit(self._transport.pull, params), since, results_no)

    def pull_property(
        self, property_id: str, report: CycleReport, pool: ThreadPoolExecutor, first: Asked
    ) -> None:
        """Pull page after page; the next is asked for while this one is applied.

        Pages are still taken one at a time and in order, each with the cursors it brings (its
        results applied; its documents restored on the last page, set aside on the others).
        The next page's request needs only this page's cursors, so central reads it while the
        edge writes this one. If that request fails, this page is taken and its cursors stored
        all the same, and the error ends the cycle afterwards; if taking this page fails, the
        answer to the request in flight is dropped and the cursors stay where they were.

        A first page that rode with the push's last batch marks that batch sent in the
        transaction that takes it; if the page is not taken, the batch is marked sent alone.
        """
        marking = first.marking
        try:
            self._pages(property_id, report, pool, first)
        except BaseException:
            if marking is not None and not marking.done:
                try:
                    self._store.mark_sent(marking.ids, marking.state)
                except Exception:  # the page's own error says more; the batch is resent
                    log.exception("the answered batch could not be marked sent")
            raise

    def _pages(
        self,
        property_id: str,
        report: CycleReport,
        pool: ThreadPoolExecutor,
        first: Asked,
    ) -> None:
        cursor_name = f"cursor:{property_id}"
        asked, since, results_no, marking = (
            first.future,
            first.since,
            first.results_no,
            first.marking,
        )
        while True:
            answer = asked.result()
            changes = [pulled_change(property_id, c) for c in pulled_list(answer, "changes")]
            results = [pulled_result(r) for r in pulled_list(answer, "results")]
            since = pulled_cursor(answer.get("cursor"), since)
            results_no = pulled_cursor(answer.get("results_no"), results_no)
            new_state = {
                cursor_name: str(since),
                "results_no": str(results_no),
                "last_pull_ok": self._now().isoformat(),
            }
            server_hlc = answer.get("hlc")
            if isinstance(server_hlc, str) and server_hlc:
                # Kept, so that a restarted edge never stamps a change before one it has seen.
                new_state["hlc_seen"] = str(self._hlc.observe(Timestamp.parse(server_hlc)))
            more = answer.get("more") is True
            if more:
                params = self.params(property_id, since, results_no)
                asked = pool.submit(self._transport.pull, params)
                time.sleep(0)  # let the puller take the interpreter and ask at once
            sent = None
            if marking is not None and not marking.done:
                new_state = {**marking.state, **new_state}
                sent = marking.ids
            self._store.apply_pull(changes, results, new_state, final=not more, sent=sent)
            if changes or results:  # an empty page moved nothing (the monitor's progress)
                self.taken += 1
            if marking is not None:
                marking.done = True
            self._rejected([(r.mutation_id, r.reason) for r in results if r.result == "rejected"])
            report.pulled_changes += len(changes)
            report.results += len(results)
            if not more:
                return

    def params(self, property_id: str, since: int, results_no: int) -> dict[str, str | int]:
        """A pull request's parameters, from these cursors."""
        return {
            "origin": self._origin,
            "property": property_id,
            "since": since,
            "results_after": results_no,
            "limit": self._page_size,
        }


def page_at_hand(page: dict[str, JSON]) -> Future[dict[str, JSON]]:
    """A page already at hand, as a pull request's answer."""
    done: Future[dict[str, JSON]] = Future()
    done.set_result(page)
    return done


@dataclass(slots=True)
class Marking:
    """An answered batch to mark sent with the first page taken (its ids and chain state)."""

    ids: list[str]
    state: dict[str, str]
    done: bool = False


@dataclass(frozen=True, slots=True)
class Asked:
    """A first pull request in flight, the cursors it was sent from, and a batch to mark."""

    future: Future[dict[str, JSON]]
    since: int
    results_no: int
    marking: Marking | None = None
