"""Per-table row counts and combined CRC32s of one property's replicated data.

Computed from the aggregates' canonical documents (the same bytes the feed carries), so an
edge and central that hold the same data print the same figures, whatever their database.
Node-local tables (outbox, counters, sync state, outage log) are not compared.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import sqlalchemy as sa

from yadori.storage import aggregates
from yadori.storage import tables as t
from yadori.sync import canonical

ROOTS: dict[str, sa.Table] = {
    "property": t.properties,
    "room_type": t.room_types,
    "room": t.rooms,
    "rate_plan": t.rate_plans,
    "reservation": t.reservations,
    "folio": t.folios,
    "ticket": t.conflict_tickets,
    "menu_category": t.menu_categories,
    "menu_item": t.menu_items,
    "stock_move": t.stock_moves,
    "order": t.room_service_orders,
    "guest_token": t.guest_tokens,
    "room_service": t.room_service_settings,
}


@dataclass(frozen=True, slots=True)
class TableSum:
    """A table's row count and the CRC32 of its rows in key order."""

    table: str
    rows: int
    crc32: int


def property_checksums(conn: sa.Connection, property_id: str) -> list[TableSum]:
    """Every replicated table's count and combined CRC for one property."""
    rows: dict[str, list[bytes]] = {}
    for kind, root in ROOTS.items():
        column = root.c.id if kind == "property" else root.c.property_id
        ids = conn.execute(sa.select(root.c.id).where(column == property_id)).scalars()
        for ident in ids:
            doc = aggregates.snapshot(conn, f"{kind}:{ident}") or {}
            for table, table_rows in doc.items():
                rows.setdefault(table, []).extend(canonical.encode(r) for r in table_rows)
    return [
        TableSum(table, len(encoded), _combined(sorted(encoded)))
        for table, encoded in sorted(rows.items())
    ]


def _combined(encoded: list[bytes]) -> int:
    crc = 0
    for row in encoded:
        crc = zlib.crc32(row, crc)
    return crc
