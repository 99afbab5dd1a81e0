"""Central's side of push and pull: apply each edge's mutations exactly once, serve the feed.

Each mutation is applied in its own transaction with the same handler the edge ran (replay,
merging by the conflict rules), and its result is recorded per (origin, seq) in the same
transaction, so a batch sent twice is applied once. A mutation refused for good is recorded as
``rejected`` with its reason, and the aggregates it would have touched are re-published, so the
edge converges to central's state; it never blocks the mutations after it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from yadori.domain.errors import AlreadyExists, DomainError
from yadori.services.bus import MessageBus, Replayed, ReplayResult
from yadori.services.ports import Clock, UnitOfWork
from yadori.sync.protocol import BatchItem


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What central did with one pushed mutation."""

    mutation_id: str
    origin: str
    seq: int
    result: str
    reason: str = ""
    tickets: tuple[str, ...] = ()


class CentralSync:
    """Applies pushed mutations at central."""

    def __init__(self, bus: MessageBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock

    def apply(self, items: tuple[BatchItem, ...], system: str = "edge") -> list[ItemResult]:
        """Apply each item once, in the order sent (dependencies come first)."""
        return [self._apply_one(item, system) for item in items]

    def _apply_one(self, item: BatchItem, system: str) -> ItemResult:
        m = item.mutation
        known = self._bus.read(item.property_id, lambda uow: uow.ledger.result_of(m.origin, m.seq))
        if known is not None:
            return ItemResult(m.id, m.origin, m.seq, known.result, known.reason, known.tickets)
        try:
            replayed = self._bus.replay(
                item.property_id, m, system, lambda uow, r: self._store(uow, item, r)
            )
        except AlreadyExists:
            again = self._bus.read(
                item.property_id, lambda uow: uow.ledger.result_of(m.origin, m.seq)
            )
            if again is None:
                return self._reject(item, "a record it creates already exists at central")
            return ItemResult(m.id, m.origin, m.seq, again.result, again.reason, again.tickets)
        except DomainError as exc:
            return self._reject(item, f"{exc.code}: {exc.message}")
        return ItemResult(
            m.id, m.origin, m.seq, replayed.result.value, _reason(replayed), replayed.tickets
        )

    def _store(self, uow: UnitOfWork, item: BatchItem, replayed: Replayed) -> None:
        m = item.mutation
        entry = ItemResult(
            m.id, m.origin, m.seq, replayed.result.value, _reason(replayed), replayed.tickets
        )
        self._record(uow, entry, m.name)

    def _reject(self, item: BatchItem, reason: str) -> ItemResult:
        m = item.mutation
        result = ItemResult(m.id, m.origin, m.seq, ReplayResult.REJECTED.value, reason)

        def record(uow: UnitOfWork) -> None:
            self._record(uow, result, m.name)
            uow.ledger.publish(item.aggregates)  # the edge gets central's state back

        with contextlib.suppress(AlreadyExists):  # a concurrent push of the batch recorded it
            self._bus.in_unit(item.property_id, record)
        return result

    def _record(self, uow: UnitOfWork, r: ItemResult, name: str) -> None:
        uow.ledger.record(
            r.origin, r.seq, r.mutation_id, name, r.result, r.reason, r.tickets, self._clock.now()
        )


def _reason(replayed: Replayed) -> str:
    if not replayed.changes:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(replayed.changes.items()))
