"""Batched inserts: COPY on PostgreSQL, executemany elsewhere.

Central writes a replayed batch's results, folio lines and bookings by the thousand. Through
``executemany`` every row costs SQLAlchemy's parameter processing, psycopg's dumping and one
executor run on the server; ``COPY … FROM STDIN`` streams them as one statement. Values pass
through each column's bind processor first (a UTC datetime, a Decimal as text), exactly as an
insert would, and a clash is raised as SQLAlchemy's IntegrityError, as an insert's would be.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

COPY_FROM = 50  # fewer rows go through executemany: COPY's set-up is not worth it


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, object]]) -> None:
    """Insert the rows (each with the same keys) in one go."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(sa.insert(table), list(rows))
        return
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in names]
    quote = conn.dialect.identifier_preparer
    columns = ", ".join(quote.quote(name) for name in names)
    statement = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert driver is not None  # noqa: S101 - an open connection has its driver's
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        value if process is None or value is None else process(value)
                        for process, value in zip(processors, (row[n] for n in names), strict=True)
                    ]
                )
    except psycopg.IntegrityError as exc:
        raise sa_exc.IntegrityError(statement, None, exc) from exc
