"""Central's sync endpoints' work: take a push, serve a pull, answer a heartbeat."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from yadori.auth.errors import NodeUnauthenticated, WrongProperty
from yadori.services.bus import MessageBus
from yadori.services.errors import StorageUnavailable
from yadori.services.sync_apply import CentralSync
from yadori.services.sync_ports import LedgerEntry
from yadori.storage.repositories.feed_publish import has_marks
from yadori.storage.repositories.ledger import (
    advance_chain,
    feed_since,
    last_seq,
    results_after,
)
from yadori.sync.canonical import JSON
from yadori.sync.protocol import SEQ_TAKEN, PageAsk, decode_batch

MAX_PAGE = 5_000
# A page's documents stop at about this many bytes of JSON (a page holds at least one): 8 MB
# is about 1.5 MB gzipped, a second or so on a hotel's 10 Mbit/s line.
PAGE_BYTES = 8_000_000
log = logging.getLogger("yadori.sync")


class SyncServer:
    """Central's side of push, pull and heartbeat."""

    def __init__(self, engine: Engine, bus: MessageBus, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._bus = bus
        self._now = now
        self._central = CentralSync(bus, _Clock(now))
        self.page_bytes = PAGE_BYTES  # a page's documents stop at about this many bytes

    def push(
        self,
        body: bytes,
        crc: int,
        node: str,
        properties: tuple[str, ...],
        page: PageAsk | None = None,
    ) -> dict[str, JSON]:
        """Check a batch (BatchCorrupt if damaged, BatchTooLarge), apply it once, answer each.

        The batch and each of its mutations must be the calling node's own, for the properties
        it was enrolled for.
        With ``page``, the answer also carries the page a pull with those parameters would
        get once the batch is applied (``page``), read as ``pull`` reads it: an edge's last
        batch asks for its first pull page this way and saves a round trip (decision 0049).
        The page is left out, and the edge pulls as usual, when its property is not one the
        edge is enrolled for (the pull then says why) or reading it failed: the batch is
        applied and answered either way.
        """
        batch = decode_batch(body, crc)
        if batch.origin != node:
            raise NodeUnauthenticated(f"node {node} pushed a batch of {batch.origin[:64]}")
        # each mutation is recorded and deduplicated by its own (origin, seq): never another's
        stranger = next((i.mutation.origin for i in batch.items if i.mutation.origin != node), None)
        if stranger is not None:
            raise NodeUnauthenticated(f"node {node} pushed a mutation of {stranger[:64]}")
        foreign = {i.property_id for i in batch.items} - set(properties)
        if foreign:
            raise WrongProperty(f"this edge is not enrolled for property {sorted(foreign)[0]}")
        applied = self._central.apply_batch(batch, crc)
        chained = applied.chained
        if chained is None:  # not placed in the last run's transaction: in one of its own
            with self._engine.begin() as conn:
                chained = advance_chain(
                    conn, batch.origin, batch.number, crc, batch.prev_crc, self._now()
                )
        if not chained:  # committed: a batch lost or reordered on the way, and counted
            log.warning(
                "batch %s of %s names a previous CRC that is not its last batch's: one was lost "
                "or reordered on the way; its mutations are applied by sequence all the same",
                batch.number,
                batch.origin,
            )
        answer: dict[str, JSON] = {
            "results": [_result(r) for r in applied.results],
            "chain_ok": chained,
        }
        taken = [r for r in applied.results if r.result == SEQ_TAKEN]
        if taken:  # the edge numbers them again above this (decision 0059)
            with self._engine.connect() as conn:
                answer["last_seq"] = last_seq(conn, batch.origin)
            log.error(
                "ESCALATION seq_taken: %s sent %d mutation(s) with sequence numbers it had used "
                "before for others (restored from a backup, or commits lost), from seq %d; "
                "they were not applied, and the edge numbers them again",
                batch.origin,
                len(taken),
                min(r.seq for r in taken),
            )
        if page is not None and page.property_id in properties:
            try:
                answer["page"] = self.pull(
                    node,
                    page.property_id,
                    page.since,
                    page.results_after,
                    page.limit,
                    # a last batch's run published what it could; a batch that was not the
                    # last only marked, so the page publishes for it as a pull would
                    publish=not batch.last,
                )
            except (StorageUnavailable, SQLAlchemyError) as exc:
                log.warning("the page asked with a push was not read (%s); the edge pulls", exc)
        return answer

    def pull(
        self,
        origin: str,
        property_id: str,
        since: int,
        results_after_no: int,
        limit: int,
        *,
        publish: bool = True,
    ) -> dict[str, JSON]:
        """Aggregates changed since the cursor, and the origin's results since its last.

        ``publish``: publish what replays marked first (decision 0037). The page a push's last
        batch asks for does not: that batch's run published already, for as long as one
        request may; what it left is for the pulls that follow (``more``).
        """
        limit = max(1, min(limit, MAX_PAGE))
        # What replayed batches changed is published now, once each (decision 0037): the feed
        # read next holds every change committed before this pull. When nothing is marked (a
        # push's last batch published at once, decision 0042), the page is read on the
        # connection that looked, and no writer is waited for. Otherwise that connection goes
        # back to the pool first: a writer must not wait for its property holding one (a
        # queue of them could empty the pool), and on SQLite its read would hold the write
        # lock that publishing takes.
        with self._engine.connect() as conn:
            if not has_marks(conn, property_id):
                return self._page(conn, origin, property_id, since, results_after_no, limit)
        if publish:
            self._bus.in_unit(property_id, lambda uow: uow.ledger.publish_marked())
        with self._engine.connect() as conn:
            # Publishing stops after a while (a long outage's folios), and leaves marks: the
            # edge pulls again. Looked for before the page is read: marks another pull took
            # meanwhile are then committed, and their documents in the page's read.
            left = has_marks(conn, property_id)
            page = self._page(conn, origin, property_id, since, results_after_no, limit)
            page["more"] = page["more"] is True or left
            return page

    def _page(  # noqa: PLR0917 - the pull's parameters, on a connection
        self,
        conn: Connection,
        origin: str,
        property_id: str,
        since: int,
        results_after_no: int,
        limit: int,
    ) -> dict[str, JSON]:
        changes, more_changes = feed_since(conn, property_id, since, limit, self.page_bytes)
        results = results_after(conn, origin, results_after_no, limit)
        return {
            "changes": [
                {"key": c.key, "version": c.version, "doc": c.doc, "crc32": c.crc32}
                for c in changes
            ],
            "results": [
                {
                    "mutation_id": e.mutation_id,
                    "seq": e.seq,
                    "result": e.result,
                    "reason": e.reason,
                    "tickets": list(e.tickets),
                }
                for _, e in results
            ],
            "cursor": changes[-1].version if changes else since,
            "results_no": results[-1][0] if results else results_after_no,
            "more": more_changes or len(results) == limit,
            "hlc": str(self._bus.hlc.now()),
        }

    def republish(self, node: str, property_id: str, keys: list[str]) -> int:
        """Mark these aggregates for the property's next pull to publish; how many were taken.

        Those an edge of the property may name (``aggregates.claimable``): of kinds the feed
        carries, of this property, or held nowhere (published as a tombstone, so the edge
        deletes what only a set-aside mutation of its own created).
        """
        marked = self._bus.in_unit(property_id, lambda uow: uow.ledger.mark_asked(keys))
        log.info(
            "edge %s set mutations aside: %d of %d aggregate(s) of property %s marked to publish "
            "again",
            node,
            marked,
            len(keys),
            property_id,
        )
        return marked

    def heartbeat(self) -> dict[str, JSON]:
        """Central's wall time and HLC, for skew and causality."""
        return {"time_ms": time.time_ns() // 1_000_000, "hlc": str(self._bus.hlc.now())}


def _result(entry: LedgerEntry) -> dict[str, JSON]:
    return {
        "origin": entry.origin,
        "seq": entry.seq,
        "mutation_id": entry.mutation_id,
        "result": entry.result,
        "reason": entry.reason,
        "tickets": list(entry.tickets),
    }


class _Clock:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()
