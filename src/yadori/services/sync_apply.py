"""Central's side of push and pull: apply each edge's mutations exactly once.

Each mutation is applied with the same handler the edge ran (replay, merging by the conflict
rules), and its result is recorded per (origin, seq) in the same transaction as its effects, so
a batch sent twice is applied once. A run of one property's mutations shares one transaction
with a savepoint each. A mutation refused for good is recorded as ``rejected`` with its reason,
and the aggregates it would have touched are re-published, so the edge converges to central's
state; it never blocks the mutations after it. What a batch changed is marked, and published to
the change feed by the next pull: once each, however many batches changed it. The push's last
batch publishes instead, with what the batches before it marked, and a batch's place in its
origin's chain is stored in its last run's transaction (decision 0042).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from yadori.domain.errors import AlreadyExists, DomainError
from yadori.services.bus import MessageBus, Replayed, ReplayResult
from yadori.services.ports import Clock, UnitOfWork
from yadori.services.sync_ports import LedgerEntry
from yadori.sync.mutation import Mutation
from yadori.sync.protocol import SEQ_TAKEN, Batch, BatchItem


class CentralSync:
    """Applies pushed mutations at central."""

    def __init__(self, bus: MessageBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock

    def apply(self, items: tuple[BatchItem, ...], system: str = "edge") -> list[LedgerEntry]:
        """Apply each item once, in the order sent (dependencies come first).

        A run finds the results recorded before inside its own transaction, after the
        property's writer lock, and replays only the rest. Should recording its results still
        clash with ones already there (a batch naming one mutation twice, say), each of its
        items is applied on its own, finding the results recorded before.
        """
        return self._apply(items, system, None).results

    def apply_batch(self, batch: Batch, crc: int, system: str = "edge") -> Applied:
        """Apply a pushed batch's items (as ``apply``) and place it in its origin's chain.

        The chain is advanced in the last run's transaction, with its effects and results;
        a last batch's run also publishes what it and earlier batches changed (decision 0042).
        Where the last run left that undone (a resend of what was applied, a fall-back to
        applying items one by one), ``chained`` is None and the caller advances the chain.
        """
        return self._apply(batch.items, system, _Last(batch, crc))

    def _apply(self, items: tuple[BatchItem, ...], system: str, last: _Last | None) -> Applied:
        done: dict[str, LedgerEntry] = {}
        runs = _runs(items)
        chained: bool | None = None
        held: set[str] = set()  # answered SEQ_TAKEN in this batch: what depends on them waits
        for n, (property_id, run) in enumerate(runs):
            at_end = last if n == len(runs) - 1 else None
            try:
                found, chained = self._apply_run(property_id, run, system, at_end, held)
            except AlreadyExists:
                found = {i.mutation.id: self._apply_one(i, system, held) for i in run}
            done.update(found)
            held.update(i for i, entry in found.items() if entry.result == SEQ_TAKEN)
        return Applied([done[i.mutation.id] for i in items], chained)

    def _apply_run(
        self,
        property_id: str,
        run: list[BatchItem],
        system: str,
        last: _Last | None,
        held: set[str],
    ) -> tuple[dict[str, LedgerEntry], bool | None]:
        origin = run[0].mutation.origin
        by_seq = {i.mutation.seq: i for i in run}
        mutations = [i.mutation for i in run]
        done: dict[str, LedgerEntry] = {}

        def applied_before(uow: UnitOfWork) -> frozenset[str]:
            # read under the property's writer lock: a resend racing its first push waits
            # for it and finds its results here
            found = uow.ledger.results_of(origin, list(by_seq))
            done.clear()
            done.update(_recorded(uow, [(by_seq[seq].mutation, e) for seq, e in found.items()]))
            done.update(_held_back(mutations, done, held))
            return frozenset(done)

        def on_each(uow: UnitOfWork, m: Mutation, outcome: Replayed | DomainError) -> None:
            if isinstance(outcome, DomainError):
                uow.ledger.mark_asked(by_seq[m.seq].aggregates)  # the edge gets central's state

        recorded: dict[str, LedgerEntry] = {}
        chained: list[bool] = []

        def before_commit(uow: UnitOfWork, outcomes: list[Replayed | DomainError | None]) -> None:
            new = [(m, o) for m, o in zip(mutations, outcomes, strict=True) if o is not None]
            entries = [_entry(m, o) for m, o in new]
            at = self._clock.now()
            uow.ledger.record_many(entries, [m.name for m, _ in new], at)
            recorded.clear()
            recorded.update((e.mutation_id, e) for e in entries)
            if last is not None:
                b = last.batch
                chained[:] = [
                    uow.ledger.advance_chain(b.origin, b.number, last.crc, b.prev_crc, at)
                ]

        keys = frozenset(k for i in run for k in i.aggregates)
        self._bus.replay_batch(
            property_id,
            mutations,
            system,
            on_each,
            before_commit,
            read_ahead=keys,
            applied_before=applied_before,
            publish_now=last is not None and last.batch.last,
        )
        # what before_commit recorded and placed, in the transaction that committed
        done.update(recorded)
        return done, chained[0] if chained else None

    def _apply_one(self, item: BatchItem, system: str, held: set[str]) -> LedgerEntry:
        m = item.mutation
        waits = _held_back([m], {}, held)
        if waits:
            return waits[m.id]
        known = self._bus.read(item.property_id, lambda uow: _recorded_at(uow, m))
        if known:
            return known[m.id]
        try:
            replayed = self._bus.replay(
                item.property_id,
                m,
                system,
                lambda uow, r: uow.ledger.record_many([_entry(m, r)], [m.name], self._clock.now()),
            )
        except AlreadyExists:  # recorded meanwhile, or its id recorded at another seq (0059)
            again = self._bus.read(
                item.property_id,
                lambda uow: _recorded_at(uow, m) or dict(uow.ledger.results_by_id([m.id])),
            )
            return again[m.id] if again else self._reject(item, AlreadyExists("duplicate"))
        except DomainError as exc:
            return self._reject(item, exc)
        return _entry(m, replayed)

    def _reject(self, item: BatchItem, exc: DomainError) -> LedgerEntry:
        m = item.mutation
        entry = _entry(m, exc)

        def record(uow: UnitOfWork) -> None:
            uow.ledger.record_many([entry], [m.name], self._clock.now())
            uow.ledger.mark_asked(item.aggregates)  # the edge gets central's state back

        with contextlib.suppress(AlreadyExists):  # a concurrent push of the batch recorded it
            self._bus.in_unit(item.property_id, record)
        return entry


@dataclass(frozen=True, slots=True)
class Applied:
    """A pushed batch applied.

    A result per item, in order, and the batch's place in its origin's chain (None when it
    was not taken in the last run's transaction).
    """

    results: list[LedgerEntry]
    chained: bool | None


@dataclass(frozen=True, slots=True)
class _Last:
    """The batch whose last run advances the chain (and publishes, if the batch is last)."""

    batch: Batch
    crc: int


def _entry(m: Mutation, outcome: Replayed | DomainError) -> LedgerEntry:
    if isinstance(outcome, DomainError):
        reason = f"{outcome.code}: {outcome.message}"
        return LedgerEntry(m.origin, m.seq, m.id, ReplayResult.REJECTED.value, reason, ())
    changes = ", ".join(f"{k}={v}" for k, v in sorted(outcome.changes.items()))
    return LedgerEntry(m.origin, m.seq, m.id, outcome.result.value, changes, outcome.tickets)


def _recorded(uow: UnitOfWork, found: list[tuple[Mutation, LedgerEntry]]) -> dict[str, LedgerEntry]:
    """What central answers for mutations whose (origin, seq) it recorded before, by id.

    The recorded result, if it is the mutation's own (a resend). If the record is another
    mutation's, the edge reused that seq (restored from a backup, or its commit lost): the
    mutation's own result if central recorded it at another seq (numbered again before, then
    restored again), else ``SEQ_TAKEN`` (decision 0059). Answering the record lost it silently.
    """
    others = [m.id for m, entry in found if entry.mutation_id != m.id]
    elsewhere = uow.ledger.results_by_id(others) if others else {}
    return {m.id: elsewhere.get(m.id) or _taken(m, entry) for m, entry in found}


def _recorded_at(uow: UnitOfWork, m: Mutation) -> dict[str, LedgerEntry]:
    """``_recorded`` for one mutation, if its (origin, seq) was recorded."""
    entry = uow.ledger.result_of(m.origin, m.seq)
    return {} if entry is None else _recorded(uow, [(m, entry)])


def _held_back(
    mutations: list[Mutation], done: dict[str, LedgerEntry], held: set[str]
) -> dict[str, LedgerEntry]:
    """``SEQ_TAKEN`` for those not ``done`` that depend on one answered so (or held before).

    Applied now, such a mutation would miss what it depends on (a void before its charge): it
    is not applied either, and the edge sends it again after that one (decision 0059).
    """
    waiting = set(held) | {i for i, entry in done.items() if entry.result == SEQ_TAKEN}
    back: dict[str, LedgerEntry] = {}
    if not waiting:  # the common case: nothing was taken
        return back
    for m in mutations:
        dep = next((d for d in m.deps if d in waiting), None)
        if m.id in done or dep is None:
            continue
        reason = f"{SEQ_TAKEN}: held back until mutation {dep}, which it depends on, is applied"
        back[m.id] = LedgerEntry(m.origin, m.seq, m.id, SEQ_TAKEN, reason, ())
        waiting.add(m.id)
    return back


def _taken(m: Mutation, recorded: LedgerEntry) -> LedgerEntry:
    """The recorded result if it is ``m``'s (a resend), else ``SEQ_TAKEN`` for ``m``."""
    if recorded.mutation_id == m.id:
        return recorded
    reason = (
        f"{SEQ_TAKEN}: central holds sequence {m.seq} of {m.origin} for mutation "
        f"{recorded.mutation_id}; this edge reused it (restored from a backup?)"
    )
    return LedgerEntry(m.origin, m.seq, m.id, SEQ_TAKEN, reason, ())


def _runs(items: tuple[BatchItem, ...]) -> list[tuple[str, list[BatchItem]]]:
    """Consecutive items of the same property and origin, in order."""
    runs: list[tuple[str, list[BatchItem]]] = []
    for item in items:
        key = item.property_id
        if runs and runs[-1][0] == key and runs[-1][1][0].mutation.origin == item.mutation.origin:
            runs[-1][1].append(item)
        else:
            runs.append((key, [item]))
    return runs
