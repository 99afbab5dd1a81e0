"""What routes depend on: the node's parts, the actor, and the property of the URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends, Header, Path, Request

from yadori.services.bus import MessageBus
from yadori.services.roomservice_queries import GuestGate
from yadori.sync.canonical import JSON
from yadori.sync.events import EventHub
from yadori.sync.mutation import Actor


class Directory(Protocol):
    """Lookups across properties that the API needs."""

    def property_id(self, code: str) -> str:
        """The id of the property with that code."""
        ...

    def pending_mutations(self) -> int:
        """Mutations waiting in the outbox."""
        ...


class NodeConfig(Protocol):
    """What the API shows about the node it runs on."""

    @property
    def role(self) -> str: ...

    @property
    def node_id(self) -> str: ...


class SyncServer(Protocol):
    """Central's side of the sync."""

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Apply a batch."""
        ...

    def pull(
        self, origin: str, property_id: str, since: int, results_after_no: int, limit: int
    ) -> dict[str, JSON]:
        """Serve a page of the feed and results."""
        ...

    def heartbeat(self) -> dict[str, JSON]:
        """Central's time and HLC."""
        ...


class NodeParts(Protocol):
    """The node's parts, as the composition root built them."""

    @property
    def sync_server(self) -> SyncServer | None: ...

    @property
    def sync_status(self) -> Callable[[], dict[str, JSON]] | None: ...

    @property
    def events(self) -> EventHub: ...

    @property
    def order_events(self) -> EventHub: ...

    @property
    def guest_gate(self) -> GuestGate: ...

    @property
    def config(self) -> NodeConfig: ...

    @property
    def bus(self) -> MessageBus: ...

    @property
    def directory(self) -> Directory: ...


def _parts(request: Request) -> NodeParts:
    parts: NodeParts = request.app.state.yadori
    return parts


def _bus(parts: Annotated[NodeParts, Depends(_parts)]) -> MessageBus:
    return parts.bus


def _property_id(
    parts: Annotated[NodeParts, Depends(_parts)],
    code: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")],
) -> str:
    return parts.directory.property_id(code)


def _actor(
    x_staff_id: Annotated[str, Header(max_length=64)] = "anonymous",
    x_token_id: Annotated[str, Header(max_length=64)] = "none",  # noqa: S107 - an id, not a secret
) -> Actor:
    return Actor(x_staff_id, x_token_id)


Parts = Annotated[NodeParts, Depends(_parts)]
Bus = Annotated[MessageBus, Depends(_bus)]
PropertyId = Annotated[str, Depends(_property_id)]
CurrentActor = Annotated[Actor, Depends(_actor)]
