"""Ports of room service: the menu, stock moves, orders and guest tokens, as Protocols.

The unit of work (``ports.UnitOfWork``) exposes one of each; the storage adapters implement
them for SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from yadori.domain.inventory import StockMove
from yadori.domain.reservations import ReservationStatus
from yadori.domain.roomservice import MenuCategory, MenuItem, Order, OrderStatus, PricePolicy


@dataclass(frozen=True, slots=True)
class OrderStay:
    """What an order needs of its stay, read in one query: status, room, folio."""

    reservation_id: str
    number: str
    status: ReservationStatus
    guest_name: str
    room_number: str
    folio_id: str


class MenuRepository(Protocol):
    """The property's menu: categories, items, and its room-service settings."""

    def get_item(self, item_id: str) -> MenuItem:
        """One item; raises UnknownMenuItem."""
        ...

    def items(self) -> list[MenuItem]:
        """Every item, by category position and code."""
        ...

    def categories(self) -> list[MenuCategory]:
        """Every category, by position."""
        ...

    def save_category(self, category: MenuCategory) -> None:
        """Create or replace a category."""
        ...

    def save_item(self, item: MenuItem) -> None:
        """Create or replace an item."""
        ...

    def policy(self) -> PricePolicy:
        """The property's price policy (the lower price when never set)."""
        ...

    def set_policy(self, policy: PricePolicy) -> None:
        """Store the property's price policy."""
        ...


class StockRepository(Protocol):
    """Stock moves (a counter kind: the stock is their sum)."""

    def on_hand(self, item_ids: Iterable[str]) -> Mapping[str, int]:
        """The sum of the moves of each item (0 for an item without moves)."""
        ...

    def add(self, move: StockMove, *, node: str, at: datetime) -> None:
        """Append one move."""
        ...

    def exists(self, move_id: str) -> bool:
        """Whether that move was recorded already."""
        ...


class OrderRepository(Protocol):
    """Room-service orders with their lines."""

    def get(self, order_id: str, *, for_update: bool = False) -> Order:
        """One order; raises UnknownOrder."""
        ...

    def find(self, order_id: str) -> Order | None:
        """One order, or None."""
        ...

    def stay(self, reservation_id: str) -> OrderStay:
        """The stay an order is for; raises UnknownReservation."""
        ...

    def add(self, order: Order) -> None:
        """Create an order with its lines."""
        ...

    def save(self, order: Order) -> None:
        """Store a changed status or confirmed price."""
        ...

    def list(
        self,
        *,
        reservation_id: str | None = None,
        statuses: Iterable[OrderStatus] | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """Orders matching the filters, oldest first."""
        ...


class GuestTokenRepository(Protocol):
    """Guest tokens: the SHA-256 of each, and the stay it opens."""

    def add(
        self, token_id: str, reservation_id: str, digest: str, method: str, at: datetime
    ) -> None:
        """Store a token's hash for a stay."""
        ...

    def reservation_of(self, digest: str) -> tuple[str, str] | None:
        """(token id, reservation id) of a token hash, or None."""
        ...

    def reservation_of_token(self, token_id: str) -> str | None:
        """The stay a guest token (by its id) opens, or None."""
        ...

    def stay_of(self, digest: str) -> tuple[str, OrderStay] | None:
        """(token id, its stay) of a token hash, in one query; None for an unknown token."""
        ...
