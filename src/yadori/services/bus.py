"""The message bus: runs a command's handler and appends its mutation in one transaction.

This is the only way anything writes the hotel's tables. The handler changes rows through the
unit of work; the bus then seals a mutation (DESIGN §3) and appends it to the outbox through the
same unit of work, and commits both at once. If anything fails, neither is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from yadori.domain.ids import new_id
from yadori.services.commands import Command
from yadori.services.context import Context
from yadori.services.handlers.registry import HANDLERS
from yadori.services.ports import UnitOfWork, UnitOfWorkFactory
from yadori.sync.hlc import HybridClock, Timestamp
from yadori.sync.mutation import Actor, Mutation, make_mutation

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Node:
    """The node that runs the bus: its id (the mutation origin) and number prefix."""

    node_id: str
    prefix: str


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


class MessageBus:
    """Runs commands at one node, each with its mutation, atomically."""

    def __init__(self, uow_factory: UnitOfWorkFactory, node: Node, hlc: HybridClock) -> None:
        self._uow_factory = uow_factory
        self._node = node
        self._hlc = hlc

    @property
    def node(self) -> Node:
        """The node this bus runs at."""
        return self._node

    def execute(self, property_id: str, command: Command, actor: Actor) -> Outcome:
        """Run the command; its rows and its mutation are committed together or not at all."""
        handler = HANDLERS[type(command)]
        with self._uow_factory(property_id) as uow:
            # The sequence is taken first: its row lock orders this node's writers, so the HLC
            # stamped next grows with the sequence even when writers wait for each other.
            seq = uow.outbox.next_seq()
            stamp = self._hlc.now()
            ctx = Context(actor=actor, at=_wall_time(stamp), node_prefix=self._node.prefix)
            result = handler(command, uow, ctx)
            mutation = self._record(uow, property_id, command, actor, stamp, seq)
            uow.commit()
        return Outcome(result, mutation)

    def read(self, property_id: str, query: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only query in its own transaction, never taking the write lock."""
        with self._uow_factory(property_id, read_only=True) as uow:
            return query(uow)

    def _record(  # noqa: PLR0917 - private, one call site
        self,
        uow: UnitOfWork,
        property_id: str,
        command: Command,
        actor: Actor,
        stamp: Timestamp,
        seq: int,
    ) -> Mutation:
        # What the command declares and what its handler actually changed; scoped by property,
        # since a node may hold several (central does).
        aggregates = set(command.aggregates()) | uow.touched()
        keys = [f"{property_id}/{key}" for key in sorted(aggregates)]
        mutation = make_mutation(
            id=new_id(),
            origin=self._node.node_id,
            seq=seq,
            hlc=str(stamp),
            name=command.name,
            args=command.args(),
            deps=uow.outbox.heads(keys),
            priority=command.priority,
            actor=actor,
        )
        uow.outbox.append(mutation, keys)
        return mutation


def _wall_time(stamp: Timestamp) -> datetime:
    return datetime.fromtimestamp(stamp.wall_ms / 1000, tz=UTC)
