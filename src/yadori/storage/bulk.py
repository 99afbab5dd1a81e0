"""Batched writes: COPY and unnest on PostgreSQL, executemany elsewhere.

Central writes a replayed batch's results, folio lines and bookings by the thousand. Through
``executemany`` every row costs SQLAlchemy's parameter processing, psycopg's dumping and one
executor run on the server; ``COPY … FROM STDIN`` streams inserts as one statement. Upserts,
updates, and inserts too few for COPY go as one statement over ``unnest`` of one array per
column.
Values pass through each column's bind processor first (a UTC datetime, a Decimal as text),
exactly as an insert would, and a clash is raised as SQLAlchemy's IntegrityError, as an
insert's would be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

COPY_FROM = 50  # fewer rows go over unnest (or executemany): COPY's set-up is not worth it
UNNEST_FROM = 8  # fewer rows go through executemany: one round trip each is as quick


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, object]]) -> None:
    """Insert the rows (each with the same keys) in one go."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < UNNEST_FROM:
        conn.execute(sa.insert(table), list(rows))
        return
    names = tuple(rows[0])
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    if len(rows) < COPY_FROM:  # one statement over unnest, not an execution per row
        sql, params = _unnest(conn, table, names, rows)
        conn.exec_driver_sql(
            f"INSERT INTO {preparer.format_table(table)} ({columns}) SELECT * FROM {sql}",  # noqa: S608 - names from the table's metadata, values bound
            params,
        )
        return
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in names]
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
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


def upsert_rows(
    conn: sa.Connection,
    statement: sa.Executable,
    table: sa.Table,
    rows: Sequence[Mapping[str, object]],
    *,
    key: Sequence[str],
) -> None:
    """Insert the rows, each updating the one already there with the same ``key``.

    ``statement`` is the dialect's ``INSERT … ON CONFLICT (key) DO UPDATE`` of the other
    columns, run per row where unnest is not used. The keys of ``rows`` must be distinct:
    PostgreSQL updates a row once per statement.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < UNNEST_FROM:
        conn.execute(statement, list(rows))
        return
    names = tuple(rows[0])
    sql, params = _unnest(conn, table, names, rows)
    others = [n for n in names if n not in key]
    quote = conn.dialect.identifier_preparer.quote
    conflict = f"ON CONFLICT ({', '.join(map(quote, key))})"
    action = ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in others)
    columns = ", ".join(map(quote, names))
    target = conn.dialect.identifier_preparer.format_table(table)
    conn.exec_driver_sql(
        f"INSERT INTO {target} ({columns}) SELECT * FROM {sql} {conflict} "  # noqa: S608 - names from the table's metadata, values bound
        + (f"DO UPDATE SET {action}" if action else "DO NOTHING"),
        params,
    )


def update_rows(
    conn: sa.Connection,
    statement: sa.Executable,
    table: sa.Table,
    rows: Sequence[Mapping[str, object]],
    *,
    by: tuple[str, str],
) -> None:
    """Update rows by their key: each row's ``by[0]`` value names the ``by[1]`` column.

    ``statement`` is the ``UPDATE … WHERE by[1] = :by[0]`` run per row where unnest is not
    used; every other name of the rows is a column set. A key that names no row updates none.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < UNNEST_FROM:
        conn.execute(statement, list(rows))
        return
    param, column = by
    names = tuple(rows[0])
    sql, params = _unnest(conn, table, tuple(column if n == param else n for n in names), rows)
    quote = conn.dialect.identifier_preparer.quote
    alias = ", ".join(f"c{n}" for n in range(len(names)))  # positional: no name can clash
    sets = ", ".join(f"{quote(name)} = u.c{n}" for n, name in enumerate(names) if name != param)
    target = conn.dialect.identifier_preparer.format_table(table)
    conn.exec_driver_sql(
        f"UPDATE {target} SET {sets} FROM {sql} AS u({alias}) "  # noqa: S608 - names from the table's metadata, values bound
        f"WHERE {target}.{quote(column)} = u.c{names.index(param)}",
        params,
    )


def _unnest(
    conn: sa.Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    rows: Sequence[Mapping[str, object]],
) -> tuple[str, dict[str, object]]:
    """``unnest(%(a0)s::type[], …)`` and its arrays: one per column, values bound as its own.

    Strings are passed as text arrays, never cast to their column's length: an explicit cast
    would cut a value too long, where the insert or update refuses it (as executemany does).
    """
    params: dict[str, object] = {}
    casts = []
    for n, (column, name) in enumerate(zip(columns, rows[0], strict=True)):
        process = table.c[column].type.bind_processor(conn.dialect)
        values = [row[name] for row in rows]
        if process is not None:
            values = [None if v is None else process(v) for v in values]
        params[f"a{n}"] = values
        casts.append(f"%(a{n})b::{_array_type(conn.dialect, table.c[column].type)}")
    return f"unnest({', '.join(casts)})", params


@cache
def _array_type(dialect: sa.Dialect, type_: sa.types.TypeEngine[Any]) -> str:
    impl = type_.dialect_impl(dialect)
    while isinstance(impl, sa.TypeDecorator):  # DecimalText is a String(32) underneath
        impl = impl.load_dialect_impl(dialect)
    if isinstance(impl, sa.String):
        return "text[]"
    return f"{impl.compile(dialect=dialect)}[]"
