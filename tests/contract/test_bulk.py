"""Batched writes (COPY and unnest on PostgreSQL): the same rows as row by row, the same errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.domain.errors import AlreadyExists
from yadori.domain.folio import FolioLine, LineKind
from yadori.domain.ids import new_id
from yadori.storage import bulk
from yadori.storage.engine import make_engine
from yadori.storage.repositories.feed_publish import _FEED_UPSERT
from yadori.storage.tables import properties, sync_feed
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


@pytest.mark.parametrize("size", [2, bulk.UNNEST_FROM + 4, ROWS])
def test_rows_inserted_in_bulk_read_back_as_written(node: Yadori, size: int) -> None:
    """Decimals as their text, dates, and every column of every row, on both backends: a few
    rows by executemany, more over unnest, many by COPY (on PostgreSQL)."""
    rows = [property_row(n) for n in range(size)]
    columns = set(rows[0])
    statements: list[str] = []
    with node.engine.begin() as conn:
        sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
        bulk.insert_rows(conn, properties, rows)
    copied = node.engine.dialect.name == "postgresql" and size >= bulk.COPY_FROM
    assert len(statements) == (0 if copied else 1)  # COPY runs on the driver's cursor
    unnested = (
        node.engine.dialect.name == "postgresql" and bulk.UNNEST_FROM <= size < bulk.COPY_FROM
    )
    assert any("unnest(" in s for s in statements) is unnested
    with node.engine.connect() as conn:
        found = {
            r.id: r._mapping
            for r in conn.execute(sa.select(properties).where(properties.c.code.like("BULK%")))
        }
    assert len(found) == size
    for row in rows:
        assert {k: found[str(row["id"])][k] for k in columns} == row


@pytest.mark.parametrize("size", [bulk.UNNEST_FROM + 4, ROWS])
def test_a_clash_in_a_bulk_insert_is_already_exists_and_writes_nothing(
    hotel: Hotel, size: int
) -> None:
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
            for _ in range(size - 1):
                uow.folios.append(folio_id, line(new_id()), actor="s", at=NOW)
            uow.folios.append(folio_id, line(first), actor="s", at=NOW)
            uow.commit()

    with pytest.raises(AlreadyExists):
        again()
    with factory(hotel.property_id, read_only=True) as uow:
        lines = uow.folios.get(folio_id).lines
    assert [entry.id for entry in lines] == [first]


@pytest.mark.parametrize("size", [bulk.UNNEST_FROM + 4, ROWS])
def test_datetimes_inserted_in_bulk_keep_their_instant(hotel: Hotel, size: int) -> None:
    """A line posted at 09:00 in Tokyo reads back as 00:00 UTC, whichever way it was written;
    every line reads back as posted (over unnest or by COPY on PostgreSQL)."""
    folio_id = hotel.folio_id(hotel.book())
    factory = SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)
    posted = [FolioLine(new_id(), LineKind.CHARGE, "misc", "x", n, NOW.date()) for n in range(size)]
    with factory(hotel.property_id) as uow:
        for n, line in enumerate(posted):
            uow.folios.append(folio_id, line, actor="s", at=NOW + timedelta(seconds=n))
        uow.commit()
    with hotel.node.engine.connect() as conn:
        query = sa.text("SELECT posted_at FROM folio_lines WHERE folio_id = :f ORDER BY position")
        stamps = [v for (v,) in conn.execute(query, {"f": folio_id})]
    assert len(stamps) == size
    first = stamps[0] if isinstance(stamps[0], datetime) else datetime.fromisoformat(stamps[0])
    assert first == NOW
    with factory(hotel.property_id, read_only=True) as uow:
        lines = uow.folios.get(folio_id).lines
    assert list(lines) == posted


# --- upserts and updates (unnest on PostgreSQL) -------------------------------------------------

_UPSERT = {
    name: dialect.insert(properties).on_conflict_do_update(
        index_elements=[properties.c.id],
        set_={
            c.name: getattr(dialect.insert(properties).excluded, c.name)
            for c in properties.columns
            if c.name != "id"
        },
    )
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", pg_dialect))
}
_UPDATE = sa.update(properties).where(properties.c.id == sa.bindparam("b_id"))
MANY = bulk.UNNEST_FROM + 4


def stored(node: Yadori) -> dict[str, dict[str, object]]:
    """Every BULK property as stored, by id."""
    with node.engine.connect() as conn:
        query = sa.select(properties).where(properties.c.code.like("BULK%"))
        return {r.id: dict(r._mapping) for r in conn.execute(query)}


def sent(node: Yadori, write: Callable[[sa.Connection], None]) -> list[str]:
    """Run ``write`` in a transaction; the statements it sent (an executemany once)."""
    statements: list[str] = []
    with node.engine.begin() as conn:
        sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
        write(conn)
    return statements


@pytest.mark.parametrize("size", [2, MANY])
def test_rows_upserted_in_bulk_insert_the_new_and_replace_the_old(node: Yadori, size: int) -> None:
    """Half the rows exist (with other values), half are new: afterwards every row reads back
    as given, Decimals and dates included; over unnest on PostgreSQL past a few rows."""
    rows = [property_row(n) for n in range(size)]
    old = [{**row, "name_en": "old", "service_charge_rate": Decimal(0)} for row in rows[::2]]
    with node.engine.begin() as conn:
        bulk.insert_rows(conn, properties, old)
    statements = sent(
        node,
        lambda conn: bulk.upsert_rows(
            conn, _UPSERT[conn.dialect.name], properties, rows, key=["id"]
        ),
    )
    unnested = node.engine.dialect.name == "postgresql" and size >= bulk.UNNEST_FROM
    assert len(statements) == 1
    assert ("unnest(" in statements[0]) is unnested
    assert stored(node) == {str(row["id"]): row for row in rows}


@pytest.mark.parametrize("size", [2, MANY])
def test_rows_updated_in_bulk_change_only_the_rows_named(node: Yadori, size: int) -> None:
    rows = [property_row(n) for n in range(size + 1)]
    with node.engine.begin() as conn:
        bulk.insert_rows(conn, properties, rows)
    untouched, changed = rows[0], rows[1:]
    saves = [
        {**{k: v for k, v in row.items() if k != "id"}, "b_id": row["id"], "name_ja": "新"}
        for row in changed
    ]
    saves.append({**saves[0], "b_id": new_id()})  # names no row: updates none
    statements = sent(
        node, lambda conn: bulk.update_rows(conn, _UPDATE, properties, saves, by=("b_id", "id"))
    )
    unnested = node.engine.dialect.name == "postgresql" and len(saves) >= bulk.UNNEST_FROM
    assert len(statements) == 1
    assert ("unnest(" in statements[0]) is unnested
    found = stored(node)
    assert found[str(untouched["id"])] == untouched
    assert all(found[str(row["id"])] == {**row, "name_ja": "新"} for row in changed)
    assert len(found) == len(rows)


def test_a_value_too_long_is_refused_not_cut(pg_url: str) -> None:
    """Arrays go as text, not cast to the column's length (an explicit cast would cut): a code
    longer than its column is refused whole, as an insert refuses it (PostgreSQL; SQLite keeps
    any length)."""
    engine = make_engine(pg_url)
    try:
        rows = [property_row(n) for n in range(MANY)]
        for too_long in ({"code": "X" * 17}, {"service_charge_rate": Decimal("0." + "1" * 40)}):
            with pytest.raises(sa.exc.DataError), engine.begin() as conn:  # noqa: PT012
                bad = [*rows[:-1], {**rows[-1], **too_long}]
                bulk.upsert_rows(conn, _UPSERT["postgresql"], properties, bad, key=["id"])
        with engine.begin() as conn:
            bulk.insert_rows(conn, properties, rows)
        saves = [{"b_id": row["id"], "code": "Y" * 17} for row in rows]
        with pytest.raises(sa.exc.DataError), engine.begin() as conn:
            bulk.update_rows(conn, _UPDATE, properties, saves, by=("b_id", "id"))
        with engine.connect() as conn:
            codes = conn.execute(sa.select(properties.c.code)).scalars().all()
        assert sorted(codes) == sorted(str(row["code"]) for row in rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [2, MANY])
def test_nulls_upserted_in_bulk_read_back_as_nulls(node: Yadori, size: int) -> None:
    """Feed rows, every other one a tombstone (no document), over rows that had one."""
    rows = [
        {
            "key": f"p/room:{n}",
            "property_id": "p",
            "version": 10_000 + n,
            "doc": None if n % 2 else f'{{"n":{n}}}',
            "crc32": n,
        }
        for n in range(size)
    ]
    with node.engine.begin() as conn:
        bulk.insert_rows(
            conn, sync_feed, [{**r, "doc": "{}", "version": r["version"] + size} for r in rows]
        )
        upsert = _FEED_UPSERT[conn.dialect.name]
        bulk.upsert_rows(conn, upsert, sync_feed, rows, key=["key"])
    with node.engine.connect() as conn:
        query = sa.select(sync_feed).where(sync_feed.c.property_id == "p").order_by(sync_feed.c.key)
        found = [dict(r._mapping) for r in conn.execute(query)]
    assert found == sorted(rows, key=lambda r: str(r["key"]))
