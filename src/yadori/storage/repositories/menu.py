"""Room service's menu and its stock: categories, items, the price policy, stock moves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from decimal import Decimal

import sqlalchemy as sa

from yadori.domain.inventory import StockMove
from yadori.domain.roomservice import MenuCategory, MenuItem, PricePolicy, UnknownMenuItem
from yadori.domain.taxes import TaxClass
from yadori.storage.tables import menu_categories, menu_items, room_service_settings, stock_moves
from yadori.sync import canonical


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
