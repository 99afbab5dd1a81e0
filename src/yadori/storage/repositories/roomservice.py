"""Room service's tables: the menu, stock moves, orders with their lines, guest tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from decimal import Decimal

import sqlalchemy as sa

from yadori.domain.errors import UnknownReservation
from yadori.domain.inventory import StockMove
from yadori.domain.reservations import ReservationStatus
from yadori.domain.roomservice import (
    MenuCategory,
    MenuItem,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    PricePolicy,
    UnknownMenuItem,
    UnknownOrder,
)
from yadori.domain.taxes import TaxClass
from yadori.services.roomservice_ports import OrderStay
from yadori.storage.tables import (
    folios,
    guest_tokens,
    menu_categories,
    menu_items,
    room_service_order_lines,
    room_service_orders,
    room_service_settings,
    rooms,
    stock_moves,
)
from yadori.storage.tables import reservations as reservations_t
from yadori.sync import canonical

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


def _upsert(conn: sa.Connection, table: sa.Table, key: str, values: dict[str, object]) -> None:
    updated = conn.execute(sa.update(table).where(table.c[key] == values[key]).values(values))
    if updated.rowcount == 0:
        conn.execute(sa.insert(table).values(values))


class SqlMenu:
    """The menu of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched

    def get_item(self, item_id: str) -> MenuItem:
        """One item; UnknownMenuItem when it is not on this property's menu."""
        row = self._conn.execute(
            sa.select(menu_items).where(
                menu_items.c.id == item_id, menu_items.c.property_id == self._property_id
            )
        ).first()
        if row is None:
            raise UnknownMenuItem(f"no menu item {item_id}", item=item_id)
        return _item(row)

    def items(self) -> list[MenuItem]:
        """Every item, by category position and code."""
        rows = self._conn.execute(
            sa.select(menu_items)
            .join(menu_categories, menu_categories.c.id == menu_items.c.category_id)
            .where(menu_items.c.property_id == self._property_id)
            .order_by(menu_categories.c.position, menu_items.c.code)
        )
        return [_item(r) for r in rows]

    def categories(self) -> list[MenuCategory]:
        """Every category, by position and code."""
        rows = self._conn.execute(
            sa.select(menu_categories)
            .where(menu_categories.c.property_id == self._property_id)
            .order_by(menu_categories.c.position, menu_categories.c.code)
        )
        return [MenuCategory(r.id, r.code, r.name_ja, r.name_en, r.position) for r in rows]

    def save_category(self, category: MenuCategory) -> None:
        """Create or replace a category."""
        self._touched.add(f"menu_category:{category.id}")
        values: dict[str, object] = {
            "id": category.id,
            "property_id": self._property_id,
            "code": category.code,
            "name_ja": category.name_ja,
            "name_en": category.name_en,
            "position": category.position,
        }
        _upsert(self._conn, menu_categories, "id", values)

    def save_item(self, item: MenuItem) -> None:
        """Create or replace an item."""
        self._touched.add(f"menu_item:{item.id}")
        values: dict[str, object] = {
            "id": item.id,
            "property_id": self._property_id,
            "category_id": item.category_id,
            "code": item.code,
            "name_ja": item.name_ja,
            "name_en": item.name_en,
            "price": item.price,
            "tax_class": item.tax_class.value,
            "service_charge_rate": item.service_charge_rate,
            "available_from": _hhmm(item.available_from),
            "available_until": _hhmm(item.available_until),
            "allergens": canonical.encode(list(item.allergens)).decode(),
            "sold_out": item.sold_out,
            "track_stock": item.track_stock,
            "previous_price": item.previous_price,
        }
        _upsert(self._conn, menu_items, "id", values)

    def policy(self) -> PricePolicy:
        """The property's price policy; the lower price when never set."""
        value = self._conn.execute(
            sa.select(room_service_settings.c.price_policy).where(
                room_service_settings.c.property_id == self._property_id
            )
        ).scalar_one_or_none()
        return PricePolicy.LOWER if value is None else PricePolicy(value)

    def set_policy(self, policy: PricePolicy) -> None:
        """Store the property's price policy."""
        self._touched.add(f"room_service:{self._property_id}")
        values: dict[str, object] = {
            "id": self._property_id,
            "property_id": self._property_id,
            "price_policy": policy.value,
        }
        _upsert(self._conn, room_service_settings, "id", values)


class SqlStock:
    """Stock moves of one property; the stock of an item is the sum of its moves."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched

    def on_hand(self, item_ids: Iterable[str]) -> dict[str, int]:
        """The sum of each item's moves."""
        ids = list(item_ids)
        rows = self._conn.execute(
            sa.select(stock_moves.c.item_id, sa.func.sum(stock_moves.c.delta))
            .where(stock_moves.c.item_id.in_(ids))
            .group_by(stock_moves.c.item_id)
        )
        found = {r[0]: int(r[1]) for r in rows}
        return {i: found.get(i, 0) for i in ids}

    def add(self, move: StockMove, *, node: str, at: datetime) -> None:
        """Append one move."""
        self._touched.add(f"stock_move:{move.id}")
        self._conn.execute(
            sa.insert(stock_moves).values(
                id=move.id,
                property_id=self._property_id,
                item_id=move.item_id,
                delta=move.delta,
                reason=move.reason.value,
                order_id=move.order_id,
                note=move.note,
                node=node,
                at=at,
            )
        )

    def exists(self, move_id: str) -> bool:
        """Whether that move was recorded already."""
        query = sa.select(stock_moves.c.id).where(stock_moves.c.id == move_id)
        return self._conn.execute(query).first() is not None


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


def _item(row: sa.Row[tuple[object, ...]]) -> MenuItem:
    m = row._mapping
    allergens = canonical.decode(m["allergens"])
    assert isinstance(allergens, list)  # noqa: S101 - written by save_item
    return MenuItem(
        id=m["id"],
        category_id=m["category_id"],
        code=m["code"],
        name_ja=m["name_ja"],
        name_en=m["name_en"],
        price=m["price"],
        tax_class=TaxClass(m["tax_class"]),
        service_charge_rate=Decimal(m["service_charge_rate"]),
        available_from=_time(m["available_from"]),
        available_until=_time(m["available_until"]),
        allergens=tuple(str(a) for a in allergens),
        sold_out=m["sold_out"],
        track_stock=m["track_stock"],
        previous_price=m["previous_price"],
    )


def _hhmm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def _time(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)
