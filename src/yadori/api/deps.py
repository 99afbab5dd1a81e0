"""What routes depend on: the node's parts, the staff token, the actor, the property of the URL.

Every property route depends on ``PropertyId``, which needs a valid staff token for that
property (401 without one, 403 for another property); each write takes its actor from an
``…Actor`` alias that also requires the scope of the action (403 ``role_forbidden``, or
``online_only`` with an offline token). Sync calls between nodes depend on ``Caller``: the
edge's node token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends, Header, Path, Request

from yadori.auth import errors as e
from yadori.auth.roles import Scope
from yadori.auth.tokens import NodeClaims, StaffClaims
from yadori.services.auth import StaffAuth, needs
from yadori.services.bus import MessageBus
from yadori.services.roomservice_queries import GuestGate
from yadori.services.trust import NodeTrust
from yadori.sync.canonical import JSON
from yadori.sync.events import EventHub
from yadori.sync.mutation import Actor
from yadori.sync.protocol import PageAsk


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

    def push(
        self,
        body: bytes,
        crc: int,
        node: str,
        properties: tuple[str, ...],
        page: PageAsk | None = None,
    ) -> dict[str, JSON]:
        """Apply a batch of that node, for its properties (and serve a pull page after it)."""
        ...

    def pull(
        self, origin: str, property_id: str, since: int, results_after_no: int, limit: int
    ) -> dict[str, JSON]:
        """Serve a page of the feed and results."""
        ...

    def republish(self, node: str, property_id: str, keys: list[str]) -> int:
        """Mark aggregates a node asks for to be published again; how many were taken."""
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

    @property
    def auth(self) -> StaffAuth | None: ...

    @property
    def trust(self) -> NodeTrust | None: ...

    @property
    def transport(self) -> Relay | None: ...


class Relay(Protocol):
    """An edge's way to pass an online-only request on to central."""

    def relay(
        self, method: str, path: str, body: dict[str, JSON], bearer: str
    ) -> tuple[int, dict[str, JSON]]:
        """Central's status and answer."""
        ...


def _parts(request: Request) -> NodeParts:
    parts: NodeParts = request.app.state.yadori
    return parts


def _bus(parts: Annotated[NodeParts, Depends(_parts)]) -> MessageBus:
    return parts.bus


def _staff_auth(parts: Annotated[NodeParts, Depends(_parts)]) -> StaffAuth:
    if parts.auth is None:  # every bootstrapped node has one; a bare app has not
        raise e.Unauthenticated("this node has no staff authentication")
    return parts.auth


def _trust(parts: Annotated[NodeParts, Depends(_parts)]) -> NodeTrust:
    if parts.trust is None:
        raise e.NodeUnauthenticated("this node keeps no node keys")
    return parts.trust


def _bearer(
    authorization: Annotated[str | None, Header(max_length=4200)] = None,
) -> str:
    if not authorization:
        raise e.TokenMissing(
            "log in first: send Authorization: Bearer <token> / ログインしてください"
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise e.TokenMalformed("the Authorization header must be: Bearer <token>")
    return token.strip()


def _claims(
    auth: Annotated[StaffAuth, Depends(_staff_auth)], token: Annotated[str, Depends(_bearer)]
) -> StaffClaims:
    return auth.verify_any(token)


def _public_property_id(
    parts: Annotated[NodeParts, Depends(_parts)],
    code: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")],
) -> str:
    return parts.directory.property_id(code)


def _authorised(
    auth: Annotated[StaffAuth, Depends(_staff_auth)],
    claims: Annotated[StaffClaims, Depends(_claims)],
    pid: Annotated[str, Depends(_public_property_id)],
) -> StaffClaims:
    auth.authorise(claims, pid)
    needs(claims, Scope.READ)
    return claims


def _property_id(
    claims: Annotated[StaffClaims, Depends(_authorised)],
    pid: Annotated[str, Depends(_public_property_id)],
) -> str:
    return pid


def _actor(scope: Scope) -> Callable[[StaffClaims], Actor]:
    def actor(claims: Annotated[StaffClaims, Depends(_authorised)]) -> Actor:
        needs(claims, scope)
        return Actor(claims.staff_id, claims.token_id)

    return actor


def scoped_actor(scope: Scope) -> Callable[[StaffClaims], Actor]:
    """The dependency giving the actor of a logged-in staff member whose token has ``scope``."""
    return _actor(scope)


def _any_staff(claims: Annotated[StaffClaims, Depends(_claims)]) -> StaffClaims:
    needs(claims, Scope.READ)
    return claims


def _caller(
    trust: Annotated[NodeTrust, Depends(_trust)],
    authorization: Annotated[str | None, Header(max_length=4200)] = None,
) -> tuple[NodeClaims, tuple[str, ...]]:
    scheme, _, token = (authorization or "").partition(" ")
    return trust.authenticate_node(token.strip() if scheme.lower() == "bearer" else None)


Parts = Annotated[NodeParts, Depends(_parts)]
Bus = Annotated[MessageBus, Depends(_bus)]
Auth = Annotated[StaffAuth, Depends(_staff_auth)]
Trust = Annotated[NodeTrust, Depends(_trust)]
Bearer = Annotated[str, Depends(_bearer)]
PublicPropertyId = Annotated[str, Depends(_public_property_id)]
PropertyId = Annotated[str, Depends(_property_id)]
"""The property of the URL, for a staff member logged in to it (any role)."""
Claims = Annotated[StaffClaims, Depends(_authorised)]
AnyStaff = Annotated[StaffClaims, Depends(_any_staff)]
"""A logged-in staff member of any property of this node (node-wide screens)."""
Caller = Annotated[tuple[NodeClaims, tuple[str, ...]], Depends(_caller)]
"""The enrolled node calling, and the properties it was enrolled for."""
DeskActor = Annotated[Actor, Depends(_actor(Scope.FRONT_DESK))]
RoomsActor = Annotated[Actor, Depends(_actor(Scope.ROOMS))]
ChargeActor = Annotated[Actor, Depends(_actor(Scope.CHARGE))]
PaymentActor = Annotated[Actor, Depends(_actor(Scope.PAYMENT))]
AdjustActor = Annotated[Actor, Depends(_actor(Scope.ADJUST))]
CloseDayActor = Annotated[Actor, Depends(_actor(Scope.CLOSE_DAY))]
TicketsActor = Annotated[Actor, Depends(_actor(Scope.TICKETS))]
