"""Batched inserts (COPY on PostgreSQL): the same rows an insert writes, the same errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.domain.errors import AlreadyExists
from yadori.domain.folio import FolioLine, LineKind
from yadori.domain.ids import new_id
from yadori.storage import bulk
from yadori.storage.tables import properties
from yadori.storage.unit_of_work import SqlUnitOfWorkFactory

JST = timezone(timedelta(hours=9))
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=JST)
ROWS = bulk.COPY_FROM + 10  # enough for COPY on PostgreSQL


def property_row(n: int) -> dict[str, object]:
    """A property with a Decimal rate, a date and a None-free row."""
    return {
        "id": new_id(),
        "code": f"BULK{n}",
        "name_ja": f"宿{n}",
        "name_en": f"Inn {n}",
        "business_date": date(2026, 12, 1) + timedelta(days=n),
        "municipality": "tokyo",
        "timezone": "Asia/Tokyo",
        "service_charge_rate": Decimal("0.10") + Decimal(n) / 1000,
        "service_charge_rounding": "floor",
        "tax_rounding": "floor",
    }


def test_rows_inserted_in_bulk_read_back_as_written(node: Yadori) -> None:
    """Decimals as their text, dates, and every column of every row, on both backends."""
    rows = [property_row(n) for n in range(ROWS)]
    columns = set(rows[0])
    statements: list[str] = []
    with node.engine.begin() as conn:
        sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
        bulk.insert_rows(conn, properties, rows)
    copied = node.engine.dialect.name == "postgresql"
    assert len(statements) == (0 if copied else 1)  # COPY runs on the driver's cursor
    with node.engine.connect() as conn:
        found = {
            r.id: r._mapping
            for r in conn.execute(sa.select(properties).where(properties.c.code.like("BULK%")))
        }
    assert len(found) == ROWS
    for row in rows:
        assert {k: found[str(row["id"])][k] for k in columns} == row


def test_a_clash_in_a_bulk_insert_is_already_exists_and_writes_nothing(hotel: Hotel) -> None:
    """Lines posted in bulk, one of them a line that exists: the whole flush is refused."""
    folio_id = hotel.folio_id(hotel.book())
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)

    def line(line_id: str) -> FolioLine:
        return FolioLine(line_id, LineKind.CHARGE, "misc", "x", 100, NOW.date())

    first = new_id()
    with factory(hotel.property_id) as uow:
        uow.folios.append(folio_id, line(first), actor="s", at=NOW)
        uow.commit()

    def again() -> None:
        with factory(hotel.property_id) as uow:
            for _ in range(ROWS):
                uow.folios.append(folio_id, line(new_id()), actor="s", at=NOW)
            uow.folios.append(folio_id, line(first), actor="s", at=NOW)
            uow.commit()

    with pytest.raises(AlreadyExists):
        again()
    with factory(hotel.property_id, read_only=True) as uow:
        lines = uow.folios.get(folio_id).lines
    assert [entry.id for entry in lines] == [first]


def test_datetimes_inserted_in_bulk_keep_their_instant(hotel: Hotel) -> None:
    """A line posted at 09:00 in Tokyo reads back as 00:00 UTC, whichever way it was written."""
    folio_id = hotel.folio_id(hotel.book())
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)
    with factory(hotel.property_id) as uow:
        for n in range(ROWS):
            line = FolioLine(new_id(), LineKind.CHARGE, "misc", "x", n, NOW.date())
            uow.folios.append(folio_id, line, actor="s", at=NOW + timedelta(seconds=n))
        uow.commit()
    with hotel.node.engine.connect() as conn:
        query = sa.text("SELECT posted_at FROM folio_lines WHERE folio_id = :f ORDER BY position")
        stamps = [v for (v,) in conn.execute(query, {"f": folio_id})]
    assert len(stamps) == ROWS
    first = stamps[0] if isinstance(stamps[0], datetime) else datetime.fromisoformat(stamps[0])
    assert first == NOW
