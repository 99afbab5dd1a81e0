"""The guest's room-service API, for the page the edge serves at ``/guest/``.

A guest is known by a per-stay token (``Authorization: Bearer …``), made at check-in or by
signing in with room number and surname (limited attempts). No route here reads a staff
credential, and none accepts one in place of a guest token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from yadori.api.deps import Bus, Parts
from yadori.api.deps import PublicPropertyId as PropertyId  # a guest has no staff token
from yadori.api.roomservice_schemas import (
    GuestOrderIn,
    GuestTokenOut,
    MenuOut,
    OrderOut,
    RoomSurnameIn,
    StayOut,
)
from yadori.api.routes.roomservice import place
from yadori.domain.guest_access import GuestAccessDenied, new_token, token_hash
from yadori.domain.ids import new_id
from yadori.domain.roomservice import OrderSource
from yadori.services import roomservice_queries as q
from yadori.services.commands import IssueGuestToken, PlaceOrder
from yadori.sync.mutation import Actor

router = APIRouter(prefix="/guest/v1/{code}", tags=["guest room service"])


async def _guest(
    parts: Parts,
    pid: PropertyId,
    authorization: Annotated[str, Header(max_length=4200)] = "",  # a staff JWT: refused
) -> q.GuestStay:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GuestAccessDenied("sign in with the link from the front desk, or room and surname")

    token = token.strip()

    def look_up() -> q.GuestStay:
        return parts.bus.read(pid, lambda uow: q.stay_of_token(uow, token))

    return parts.guest_gate.stay(f"{pid}/{token}", look_up)


Guest = Annotated[q.GuestStay, Depends(_guest)]


def _actor(guest: q.GuestStay) -> Actor:
    return Actor(f"guest:{guest.reservation_id}", guest.token_id)


@router.get("/heartbeat")
async def heartbeat() -> dict[str, bool]:
    """The page's connectivity check: answers whenever the edge is reachable."""
    return {"ok": True}


@router.post("/session", status_code=status.HTTP_201_CREATED)
async def sign_in(parts: Parts, pid: PropertyId, body: RoomSurnameIn) -> GuestTokenOut:
    """Sign in with room number and surname; five wrong answers lock the room for a while."""
    key = f"{pid}/{body.room.strip()}"
    parts.guest_gate.check(key)
    try:
        reservation = parts.bus.read(
            pid, lambda uow: q.stay_in_room(uow, body.room.strip(), body.surname)
        )
    except GuestAccessDenied:
        parts.guest_gate.failed(key)
        raise
    parts.guest_gate.succeeded(key)
    token, token_id = new_token(), new_id()
    cmd = IssueGuestToken(
        token_id=token_id,
        reservation_id=reservation.id,
        token_hash=token_hash(token),
        method="room_surname",
    )
    parts.bus.execute(pid, cmd, Actor(f"guest:{reservation.id}", token_id))
    return GuestTokenOut(token_id=token_id, token=token, link="")


@router.get("/stay")
async def stay(bus: Bus, pid: PropertyId, guest: Guest) -> StayOut:
    """The stay the guest is signed in to."""
    return StayOut.of(guest, bus.read(pid, lambda uow: uow.properties.get()))


@router.get("/menu")
async def menu(bus: Bus, pid: PropertyId, guest: Guest) -> MenuOut:
    """The menu, with what the page needs to estimate a price as the bill will."""
    return MenuOut.of(bus.read(pid, q.menu))


@router.get("/orders")
async def orders(bus: Bus, pid: PropertyId, guest: Guest) -> list[OrderOut]:
    """The stay's orders, with their estimated and confirmed prices."""
    found = bus.read(pid, lambda uow: q.orders(uow, reservation_id=guest.reservation_id))
    return [OrderOut.of(o) for o in found]


@router.post("/orders", status_code=status.HTTP_201_CREATED)
async def place_order(
    parts: Parts, pid: PropertyId, guest: Guest, body: GuestOrderIn, response: Response
) -> OrderOut:
    """Place an order from the page's queue: 201 the first time, 200 when resent."""
    cmd = PlaceOrder(
        order_id=body.id,
        reservation_id=guest.reservation_id,
        source=OrderSource.GUEST,
        items=tuple(line.item() for line in body.lines),
        notes=body.notes,
        deliver_at=None if body.deliver_at is None else body.deliver_at.isoformat(),
        client_id=body.client_id,
    )
    return place(parts, pid, cmd, _actor(guest), response)
