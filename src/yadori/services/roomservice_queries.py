"""Read models of room service: the menu with stock, a stay's orders, guest sign-in lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from yadori.domain.guest_access import (
    AttemptPolicy,
    Attempts,
    GuestAccessDenied,
    surname_matches,
    token_hash,
)
from yadori.domain.property import Property
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.domain.roomservice import FINAL, MenuCategory, MenuItem, Order, OrderStatus, PricePolicy
from yadori.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class MenuView:
    """The menu as a page shows it: categories, items, stock of counted items, the policy."""

    property: Property
    categories: list[MenuCategory]
    items: list[MenuItem]
    stock: dict[str, int]
    policy: PricePolicy


@dataclass(frozen=True, slots=True)
class GuestStay:
    """The stay a guest credential opens."""

    reservation_id: str
    token_id: str
    guest_name: str
    room_number: str


def menu(uow: UnitOfWork) -> MenuView:
    """The whole menu, with the local stock of every counted item."""
    items = uow.menu.items()
    stock = dict(uow.stock.on_hand([i.id for i in items if i.track_stock]))
    return MenuView(uow.properties.get(), uow.menu.categories(), items, stock, uow.menu.policy())


def orders(
    uow: UnitOfWork, *, reservation_id: str | None = None, active: bool = False
) -> list[Order]:
    """Orders of a stay, or of the property; ``active`` leaves out delivered and cancelled."""
    statuses = [s for s in OrderStatus if s not in FINAL] if active else None
    return uow.orders.list(reservation_id=reservation_id, statuses=statuses)


def stay_of_token(uow: UnitOfWork, token: str) -> GuestStay:
    """The in-house stay a guest token opens; GuestAccessDenied otherwise."""
    found = uow.guest_tokens.stay_of(token_hash(token))
    if found is None:
        raise GuestAccessDenied("this link is not valid: ask the front desk for a new one")
    token_id, stay = found
    if stay.status is not ReservationStatus.CHECKED_IN:
        raise GuestAccessDenied("this stay has ended: room service is closed for it")
    return GuestStay(stay.reservation_id, token_id, stay.guest_name, stay.room_number)


def stay_in_room(uow: UnitOfWork, room_number: str, surname: str) -> Reservation:
    """The in-house stay in a room whose guest has that surname; GuestAccessDenied otherwise."""
    date = uow.properties.get().business_date
    rooms = {r.id: r.number for r in uow.rooms.list()}
    for reservation in uow.reservations.find(
        in_house_on=date, statuses=[ReservationStatus.CHECKED_IN]
    ):
        in_room = reservation.room_id is not None and rooms[reservation.room_id] == room_number
        if in_room and surname_matches(reservation.guest_name, surname):
            return reservation
    raise GuestAccessDenied("no guest of that name in that room")


TOKEN_CACHE_SECONDS = 30
TOKEN_CACHE_SIZE = 10_000


class GuestGate:
    """The guests' way in at this node: remembered tokens, and wrong room-and-surname answers.

    A token's stay is remembered for 30 seconds, so a page's requests do not each look it up;
    an order still checks that its stay is in house, in its own transaction. Wrong answers are
    counted per room, in memory: a restart forgets the count, which costs an attacker a restart
    per five guesses at most; the edge is on the hotel's network only.
    """

    def __init__(self, now: Callable[[], datetime], policy: AttemptPolicy | None = None) -> None:
        self._now = now
        self._policy = policy or AttemptPolicy()
        self._attempts: dict[str, Attempts] = {}
        self._tokens: dict[str, tuple[datetime, GuestStay]] = {}
        self._lock = Lock()

    def stay(self, key: str, look_up: Callable[[], GuestStay]) -> GuestStay:
        """The stay a token (``key``: property and token) opens, looked up every 30 seconds."""
        now = self._now()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and (now - cached[0]).total_seconds() < TOKEN_CACHE_SECONDS:
            return cached[1]
        found = look_up()
        with self._lock:
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.clear()
            self._tokens[key] = (now, found)
        return found

    def check(self, key: str) -> None:
        """Refuse while the key is locked out (TooManyAttempts)."""
        with self._lock:
            attempts = self._attempts.get(key)
        if attempts is not None:
            attempts.check(self._now())

    def failed(self, key: str) -> None:
        """Count a wrong answer."""
        now = self._now()
        with self._lock:
            attempts = self._attempts.get(key, Attempts(0, now))
            self._attempts[key] = attempts.failed(now, self._policy)

    def succeeded(self, key: str) -> None:
        """Forget the key's failures."""
        with self._lock:
            self._attempts.pop(key, None)
