"""Room-service orders with their lines and stays, and the guest tokens that open a stay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from yadori.domain.errors import UnknownReservation
from yadori.domain.reservations import ReservationStatus
from yadori.domain.roomservice import (
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    PricePolicy,
    UnknownOrder,
)
from yadori.domain.taxes import TaxClass
from yadori.services.roomservice_ports import OrderStay
from yadori.storage.tables import (
    folios,
    guest_tokens,
    room_service_order_lines,
    room_service_orders,
    rooms,
)
from yadori.storage.tables import reservations as reservations_t

_ORDER = sa.select(room_service_orders).where(
    room_service_orders.c.id == sa.bindparam("b_id"),
    room_service_orders.c.property_id == sa.bindparam("b_pid"),
)
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
_STAY = (
    sa.select(
        reservations_t.c.id,
        reservations_t.c.number,
        reservations_t.c.status,
        reservations_t.c.guest_name,
        sa.func.coalesce(rooms.c.number, "").label("room_number"),
        folios.c.id.label("folio_id"),
    )
    .select_from(reservations_t)
    .join(folios, folios.c.reservation_id == reservations_t.c.id)
    .outerjoin(rooms, rooms.c.id == reservations_t.c.room_id)
)
_TOKEN_STAY = _STAY.add_columns(guest_tokens.c.id.label("token_id")).join(
    guest_tokens, guest_tokens.c.reservation_id == reservations_t.c.id
)
_LINES = (
    sa.select(room_service_order_lines)
    .where(room_service_order_lines.c.order_id.in_(sa.bindparam("b_ids", expanding=True)))
    .order_by(room_service_order_lines.c.order_id, room_service_order_lines.c.position)
)


class SqlOrders:
    """Room-service orders of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched

    def find(self, order_id: str) -> Order | None:
        """One order, or None."""
        row = self._conn.execute(_ORDER, {"b_id": order_id, "b_pid": self._property_id}).first()
        return None if row is None else _with_lines(self._conn, [row])[0]

    def stay(self, reservation_id: str) -> OrderStay:
        """The stay an order is for, with its room number and folio, in one query."""
        row = self._conn.execute(
            _STAY.where(
                reservations_t.c.id == reservation_id,
                reservations_t.c.property_id == self._property_id,
            )
        ).first()
        if row is None:
            raise UnknownReservation(f"no reservation {reservation_id}", reservation=reservation_id)
        return _stay(row._mapping)

    def get(self, order_id: str, *, for_update: bool = False) -> Order:
        """One order (locked until the transaction ends when ``for_update``)."""
        query = _ORDER_FOR_UPDATE if for_update else _ORDER
        row = self._conn.execute(query, {"b_id": order_id, "b_pid": self._property_id}).first()
        if row is None:
            raise UnknownOrder(f"no room-service order {order_id}", order=order_id)
        return _with_lines(self._conn, [row])[0]

    def add(self, order: Order) -> None:
        """Create an order with its lines."""
        self._touched.add(f"order:{order.id}")
        self._conn.execute(
            sa.insert(room_service_orders).values(
                id=order.id,
                property_id=self._property_id,
                reservation_id=order.reservation_id,
                folio_id=order.folio_id,
                room_number=order.room_number,
                source=order.source.value,
                placed_at=order.placed_at,
                client_id=order.client_id,
                number=order.number,
                version=1,
                **_order_values(order),
            )
        )
        self._conn.execute(
            sa.insert(room_service_order_lines),
            [
                {
                    "order_id": order.id,
                    "position": n,
                    "item_id": line.item_id,
                    "name_ja": line.name_ja,
                    "name_en": line.name_en,
                    "quantity": line.quantity,
                    "estimated_unit_price": line.estimated_unit_price,
                    "unit_price": line.unit_price,
                    "tax_class": line.tax_class.value,
                    "service_charge_rate": line.service_charge_rate,
                }
                for n, line in enumerate(order.lines, start=1)
            ],
        )

    def save(self, order: Order) -> None:
        """Store the order's status, notes and prices (its lines never change)."""
        self._touched.add(f"order:{order.id}")
        self._conn.execute(
            sa.update(room_service_orders)
            .where(room_service_orders.c.id == order.id)
            .values(version=room_service_orders.c.version + 1, **_order_values(order))
        )

    def list(
        self,
        *,
        reservation_id: str | None = None,
        statuses: Iterable[OrderStatus] | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """Orders matching the filters, oldest first."""
        query = sa.select(room_service_orders).where(
            room_service_orders.c.property_id == self._property_id
        )
        if reservation_id is not None:
            query = query.where(room_service_orders.c.reservation_id == reservation_id)
        if statuses is not None:
            query = query.where(room_service_orders.c.status.in_([s.value for s in statuses]))
        query = query.order_by(room_service_orders.c.placed_at, room_service_orders.c.id)
        return _with_lines(self._conn, self._conn.execute(query.limit(limit)).all())


class SqlGuestTokens:
    """Hashes of guest tokens and the stays they open."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched

    def add(
        self, token_id: str, reservation_id: str, digest: str, method: str, at: datetime
    ) -> None:
        """Store a token's hash for a stay."""
        self._touched.add(f"guest_token:{token_id}")
        self._conn.execute(
            sa.insert(guest_tokens).values(
                id=token_id,
                property_id=self._property_id,
                reservation_id=reservation_id,
                token_hash=digest,
                method=method,
                created_at=at,
            )
        )

    def reservation_of(self, digest: str) -> tuple[str, str] | None:
        """(token id, reservation id) of a token hash at this property, or None."""
        row = self._conn.execute(
            sa.select(guest_tokens.c.id, guest_tokens.c.reservation_id).where(
                guest_tokens.c.token_hash == digest,
                guest_tokens.c.property_id == self._property_id,
            )
        ).first()
        return None if row is None else (row.id, row.reservation_id)

    def reservation_of_token(self, token_id: str) -> str | None:
        """The stay a guest token (by its id) opens at this property, or None."""
        row = self._conn.execute(
            sa.select(guest_tokens.c.reservation_id).where(
                guest_tokens.c.id == token_id, guest_tokens.c.property_id == self._property_id
            )
        ).first()
        return None if row is None else str(row.reservation_id)

    def stay_of(self, digest: str) -> tuple[str, OrderStay] | None:
        """(token id, its stay) of a token hash at this property, in one query."""
        row = self._conn.execute(
            _TOKEN_STAY.where(
                guest_tokens.c.token_hash == digest,
                guest_tokens.c.property_id == self._property_id,
            )
        ).first()
        return None if row is None else (row._mapping["token_id"], _stay(row._mapping))


def _with_lines(conn: sa.Connection, rows: Sequence[sa.Row[tuple[object, ...]]]) -> list[Order]:
    if not rows:
        return []
    ids = [r._mapping["id"] for r in rows]
    lines: dict[str, list[OrderLine]] = {i: [] for i in ids}
    for r in conn.execute(_LINES, {"b_ids": ids}):
        lines[r.order_id].append(
            OrderLine(
                r.item_id,
                r.name_ja,
                r.name_en,
                r.quantity,
                r.estimated_unit_price,
                r.unit_price,
                TaxClass(r.tax_class),
                Decimal(r.service_charge_rate),
            )
        )
    return [_order(r, tuple(lines[r._mapping["id"]])) for r in rows]


def _stay(m: sa.RowMapping) -> OrderStay:
    return OrderStay(
        m["id"],
        m["number"],
        ReservationStatus(m["status"]),
        m["guest_name"],
        m["room_number"],
        m["folio_id"],
    )


def _order_values(order: Order) -> dict[str, object]:
    return {
        "status": order.status.value,
        "notes": order.notes,
        "deliver_at": order.deliver_at,
        "estimated_total": order.estimated_total,
        "confirmed_total": order.confirmed_total,
        "policy": order.policy.value,
    }


def _order(row: sa.Row[tuple[object, ...]], lines: tuple[OrderLine, ...]) -> Order:
    m = row._mapping
    return Order(
        id=m["id"],
        reservation_id=m["reservation_id"],
        folio_id=m["folio_id"],
        room_number=m["room_number"],
        source=OrderSource(m["source"]),
        status=OrderStatus(m["status"]),
        lines=lines,
        estimated_total=m["estimated_total"],
        confirmed_total=m["confirmed_total"],
        policy=PricePolicy(m["policy"]),
        placed_at=m["placed_at"],
        notes=m["notes"],
        deliver_at=m["deliver_at"],
        client_id=m["client_id"],
        number=m["number"],
    )
