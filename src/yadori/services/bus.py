"""The message bus: runs a command's handler and appends its mutation in one transaction.

This is the only way anything writes the hotel's tables. The handler changes rows through the
unit of work; the bus then seals a mutation (DESIGN §3) and appends it to the outbox through the
same unit of work, and commits both at once. If anything fails, neither is kept.

``replay`` runs a mutation made at another node with the same handler, merging by the conflict
rules (DESIGN §5): that is how central applies what an edge did offline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import TypeVar

from yadori.domain.conflicts import SYSTEM_PRIORITY, Conflict, RegisterStamp
from yadori.domain.errors import DomainError
from yadori.domain.ids import derived_id, new_id
from yadori.services.commands import Command, CreateProperty
from yadori.services.context import Context
from yadori.services.errors import ReplayFailed
from yadori.services.handlers.registry import HANDLERS
from yadori.services.ports import UnitOfWork, UnitOfWorkFactory
from yadori.services.replay_failures import Refused, decode, failure, flush_optimistic, log_failed
from yadori.sync.hlc import HybridClock, Timestamp
from yadori.sync.mutation import Actor, Mutation, make_mutation

T = TypeVar("T")

Guard = Callable[[UnitOfWork, Mutation, Command], None]
"""A check run on every replayed mutation before its handler (central's actor check)."""


@dataclass(frozen=True, slots=True)
class Node:
    """The node that runs the bus: its id (the mutation origin), number prefix and role."""

    node_id: str
    prefix: str
    role: str = "edge"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a command produced: the handler's result and the mutation recorded."""

    result: object
    mutation: Mutation

    def value(self, kind: type[T]) -> T:
        """The handler's result, checked to be of the kind the caller expects."""
        if not isinstance(self.result, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(self.result).__name__}")
        return self.result


class ReplayResult(Enum):
    """How a mutation made elsewhere was applied here (DESIGN §4)."""

    APPLIED = "applied"
    APPLIED_WITH_CHANGES = "applied_with_changes"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replay's result: changes made otherwise, and tickets opened."""

    result: ReplayResult
    changes: dict[str, object]
    tickets: tuple[str, ...]


class MessageBus:
    """Runs commands at one node, each with its mutation, atomically."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        node: Node,
        hlc: HybridClock,
        guard: Guard | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._node = node
        self._hlc = hlc
        self._guard = guard

    @property
    def node(self) -> Node:
        """The node this bus runs at."""
        return self._node

    @property
    def hlc(self) -> HybridClock:
        """The node's hybrid logical clock."""
        return self._hlc

    def execute(self, property_id: str, command: Command, actor: Actor) -> Outcome:
        """Run the command; its rows and its mutation are committed together or not at all."""
        with self._uow_factory(property_id) as uow:
            # The sequence is taken first: its row lock orders this node's writers, so the HLC
            # stamped next grows with the sequence even when writers wait for each other.
            seq = uow.outbox.next_seq()
            stamp = self._hlc.now()
            issued_on = command.issued_on or _business_date(uow, command)
            ctx = self._context(actor, stamp, issued_on, replay=False)
            result = HANDLERS[type(command)](command, uow, ctx)
            recorded = _with_resolved(command, issued_on, ctx.resolved)
            mutation = self._record(uow, property_id, recorded, actor, (stamp, seq), ctx)
            self._publish(uow)
            uow.commit()
        return Outcome(result, mutation)

    def replay(
        self,
        property_id: str,
        mutation: Mutation,
        system: str,
        on_applied: Callable[[UnitOfWork, Replayed], None],
    ) -> Replayed:
        """Apply a mutation made at another node, merging by the conflict rules.

        Domain errors propagate (the caller records the mutation as rejected); conflicts found
        while merging become tickets, and ``on_applied`` records the result, all committed with
        the mutation's effects. What it changed is marked, for the next pull to publish.
        """
        with self._uow_factory(property_id) as uow:
            try:
                replayed = self._replay_in(uow, mutation, system)
                try:  # its written-behind rows, before on_applied's statements flush them
                    uow.flush()
                except Exception as exc:
                    raise failure(uow, mutation, exc) from exc
            except ReplayFailed as exc:
                log_failed(mutation, exc)
                raise
            on_applied(uow, replayed)
            self._publish(uow, later=True)
            uow.commit()
        return replayed

    def replay_batch(
        self,
        property_id: str,
        mutations: Sequence[Mutation],
        system: str,
        on_each: Callable[[UnitOfWork, Mutation, Replayed | DomainError], None],
        before_commit: Callable[[UnitOfWork, list[Replayed | DomainError | None]], None],
        *,
        read_ahead: frozenset[str] = frozenset(),
        applied_before: Callable[[UnitOfWork], frozenset[str]] | None = None,
        publish_now: bool = False,
    ) -> list[Replayed | DomainError | None]:
        """Apply several mutations in one transaction.

        First optimistically, with no savepoints (refusals are rare); if any mutation is
        refused, that transaction is dropped and the run is applied again with a savepoint per
        mutation, so a refused one is rolled back alone and reported as its error. ``on_each``
        sees every outcome and ``before_commit`` records them, in the same transaction. One
        commit for the whole run; each changed aggregate is published once. The aggregates in
        ``read_ahead`` are locked and read at the start, in a few statements.

        ``applied_before`` names, inside the transaction (so after the property's writer lock),
        the mutations applied by an earlier push: they are left out, their outcome None. When
        that is all of them, nothing is read ahead or written.

        ``publish_now`` (the last batch of a push, decision 0042): instead of marking what it
        changed, the run publishes it in its own transaction with every aggregate marked before.
        """
        hooks = (on_each, before_commit, applied_before)
        run = (read_ahead, publish_now)
        try:
            return self._replay_run(property_id, mutations, system, hooks, run, False)
        except Refused:
            return self._replay_run(property_id, mutations, system, hooks, run, True)

    def _replay_run(  # noqa: PLR0917 - private, two call sites
        self,
        property_id: str,
        mutations: Sequence[Mutation],
        system: str,
        hooks: tuple[
            Callable[[UnitOfWork, Mutation, Replayed | DomainError], None],
            Callable[[UnitOfWork, list[Replayed | DomainError | None]], None],
            Callable[[UnitOfWork], frozenset[str]] | None,
        ],
        run: tuple[frozenset[str], bool],
        savepoints: bool,
    ) -> list[Replayed | DomainError | None]:
        on_each, before_commit, applied_before = hooks
        read_ahead, publish_now = run
        outcomes: list[Replayed | DomainError | None] = []
        commands = [decode(m) for m in mutations]
        with self._uow_factory(property_id) as uow:
            known = frozenset() if applied_before is None else applied_before(uow)
            if known.issuperset(m.id for m in mutations):
                return [None] * len(mutations)  # a resend of what was applied: nothing to do
            uow.read_ahead(read_ahead, to_publish=publish_now and self._node.role == "central")
            uow.reservations.count_ahead(
                span
                for m, cmd in zip(mutations, commands, strict=True)
                if isinstance(cmd, Command) and m.id not in known
                for span in cmd.counts_sold()
            )
            for mutation, command in zip(mutations, commands, strict=True):
                if mutation.id in known:
                    outcomes.append(None)
                    continue
                outcome: Replayed | DomainError
                if savepoints:
                    try:
                        with uow.savepoint():  # its exit flushes the mutation's rows
                            outcome = self._replay_in(uow, mutation, system, command)
                    except DomainError as exc:
                        outcome = exc
                    except Exception as exc:
                        outcome = failure(uow, mutation, exc)
                    if isinstance(outcome, ReplayFailed):
                        log_failed(mutation, outcome)
                else:
                    try:  # a bug becomes ReplayFailed in _replay_in: redone with savepoints
                        outcome = self._replay_in(uow, mutation, system, command)
                    except DomainError as exc:
                        raise Refused from exc
                on_each(uow, mutation, outcome)
                outcomes.append(outcome)
            if not savepoints:
                flush_optimistic(uow)
            before_commit(uow, outcomes)
            if publish_now and self._node.role == "central":
                uow.ledger.publish_marked(also=uow.touched())
            else:
                self._publish(uow, later=True)
            uow.commit()
        return outcomes

    def _replay_in(
        self,
        uow: UnitOfWork,
        mutation: Mutation,
        system: str,
        decoded: Command | DomainError | None = None,
    ) -> Replayed:
        command = decode(mutation) if decoded is None else decoded
        if isinstance(command, DomainError):
            raise command
        try:
            return self._replay_checked(uow, mutation, system, command)
        except DomainError:
            raise
        except Exception as exc:
            raise failure(uow, mutation, exc) from exc

    def _replay_checked(
        self, uow: UnitOfWork, mutation: Mutation, system: str, command: Command
    ) -> Replayed:
        if self._guard is not None:
            self._guard(uow, mutation, command)
        remote = Timestamp.parse(mutation.hlc)
        self._hlc.observe(remote)
        issued_on = command.issued_on or _business_date(uow, command)
        ctx = Context(
            actor=mutation.actor,
            at=_wall_time(remote),
            node_prefix=mutation.origin,
            business_date=issued_on,
            stamp=RegisterStamp(SYSTEM_PRIORITY.get(system, 0), mutation.hlc, mutation.origin),
            replay=True,
        )
        HANDLERS[type(command)](command, uow, ctx)
        tickets = tuple(_open_ticket(uow, c, ctx.at) for c in ctx.conflicts)
        result = ReplayResult.APPLIED
        if ctx.changes:
            result = ReplayResult.APPLIED_WITH_CHANGES
        if tickets:
            result = ReplayResult.CONFLICT
        return Replayed(result, dict(ctx.changes), tickets)

    def in_unit(self, property_id: str, work: Callable[[UnitOfWork], T]) -> T:
        """Run some bookkeeping in its own committed unit of work (no command, no mutation)."""
        with self._uow_factory(property_id) as uow:
            value = work(uow)
            uow.commit()
        return value

    def read(self, property_id: str, query: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only query in its own transaction, never taking the write lock."""
        with self._uow_factory(property_id, read_only=True) as uow:
            return query(uow)

    def _context(self, actor: Actor, stamp: Timestamp, issued_on: date, *, replay: bool) -> Context:
        priority = SYSTEM_PRIORITY.get(self._node.role, 0)
        return Context(
            actor=actor,
            at=_wall_time(stamp),
            node_prefix=self._node.prefix,
            business_date=issued_on,
            stamp=RegisterStamp(priority, str(stamp), self._node.node_id),
            replay=replay,
        )

    def _publish(self, uow: UnitOfWork, *, later: bool = False) -> None:
        # Central publishes every aggregate a command changed to the change feed (DESIGN §4);
        # a replay marks them instead, for the next pull to publish once (decision 0037).
        if self._node.role != "central":
            return
        if later:
            uow.ledger.mark(uow.touched())
        else:
            uow.ledger.publish(uow.touched())

    def _record(  # noqa: PLR0917 - private, one call site
        self,
        uow: UnitOfWork,
        property_id: str,
        command: Command,
        actor: Actor,
        when: tuple[Timestamp, int],
        ctx: Context,
    ) -> Mutation:
        # What the command declares, what its handler changed and what it read on purpose;
        # scoped by property, since a node may hold several (central does).
        aggregates = set(command.aggregates()) | uow.touched() | ctx.read
        keys = [f"{property_id}/{key}" for key in sorted(aggregates)]
        stamp, seq = when
        mutation = make_mutation(
            id=new_id(),
            origin=self._node.node_id,
            seq=seq,
            hlc=str(stamp),
            name=command.name,
            args=command.args(),
            deps=_deps(uow, keys, f"{property_id}/session:{actor.token_id}"),
            priority=command.priority,
            actor=actor,
        )
        uow.outbox.append(mutation, keys)
        return mutation


def _deps(uow: UnitOfWork, keys: list[str], session: str) -> tuple[str, ...]:
    # A mutation made under an offline token needs the login record that opened the session
    # at central first (its actor is checked against it), without becoming its head.
    heads = uow.outbox.heads(keys)
    if session in keys:
        return heads
    return tuple(dict.fromkeys(heads + uow.outbox.heads([session])))


def _business_date(uow: UnitOfWork, command: Command) -> date:
    if isinstance(command, CreateProperty):
        return command.business_date
    return uow.properties.get().business_date


def _with_resolved(command: Command, issued_on: date, resolved: dict[str, object]) -> Command:
    return dataclasses.replace(command, issued_on=issued_on, **resolved)


def _open_ticket(uow: UnitOfWork, conflict: Conflict, at: datetime) -> str:
    """Open a ticket once per conflict: the same clash found again reuses its ticket."""
    facts = ",".join(f"{k}={v}" for k, v in sorted(conflict.facts.items()))
    ticket_id = derived_id(conflict.aggregate, f"{conflict.kind.value}/{facts}")
    if not uow.tickets.exists(ticket_id):
        uow.tickets.open(ticket_id, conflict, at)
    return ticket_id


def _wall_time(stamp: Timestamp) -> datetime:
    return datetime.fromtimestamp(stamp.wall_ms / 1000, tz=UTC)
