"""Aggregates as documents: what the change feed carries from central to the edges.

An aggregate (``room:<id>``, ``reservation:<id>`` with its nights, room-nights and registry,
``folio:<id>`` with its append-only lines …) is snapshotted as
``{table: [row, …]}`` in canonical JSON, so its CRC32 is the same on every node, and restored
by replacing its rows. A missing aggregate is a tombstone (``None``): restoring it deletes the
rows.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from yadori.storage import tables as t
from yadori.storage.sql import among, chunks, marks
from yadori.storage.types import DecimalText, UTCDateTime
from yadori.sync import canonical
from yadori.sync.canonical import JSON

Doc = dict[str, list[dict[str, JSON]]]

# kind → (table, key column) in parent-first order; the first is the aggregate's root.
PARTS: dict[str, tuple[tuple[sa.Table, str], ...]] = {
    "property": ((t.properties, "id"),),
    "room_type": ((t.room_types, "id"),),
    "room": ((t.rooms, "id"),),
    "rate_plan": (
        (t.rate_plans, "id"),
        (t.rate_base_prices, "rate_plan_id"),
        (t.rate_overrides, "rate_plan_id"),
    ),
    "reservation": (
        (t.reservations, "id"),
        (t.reservation_nights, "reservation_id"),
        (t.room_nights, "reservation_id"),
        (t.registry_entries, "reservation_id"),
    ),
    # A folio carries its lines: their positions are given by the node that appends them, so
    # an edge takes central's lines all at once (decision 0031 tried lines on their own).
    "folio": ((t.folios, "id"), (t.folio_lines, "folio_id")),
    "ticket": ((t.conflict_tickets, "id"),),
    "menu_category": ((t.menu_categories, "id"),),
    "menu_item": ((t.menu_items, "id"),),
    "stock_move": ((t.stock_moves, "id"),),
    "order": ((t.room_service_orders, "id"), (t.room_service_order_lines, "order_id")),
    "room_service": ((t.room_service_settings, "id"),),
    "guest_token": ((t.guest_tokens, "id"),),
    "staff": ((t.staff, "id"), (t.staff_lockouts, "staff_id")),
}


_ID_LENGTH = t.ID.length or 36  # the id columns' length
_OF_THE_PROPERTY = frozenset({"property", "room_service"})  # kinds whose id is the property's


class UnknownAggregate(ValueError):
    """An aggregate key of a kind the feed does not carry."""


def split(key: str) -> tuple[str, str]:
    """``room:<id>`` → (``room``, ``<id>``)."""
    kind, _, ident = key.partition(":")
    if kind not in PARTS or not ident:
        raise UnknownAggregate(key)
    return kind, ident


def carried(key: str) -> bool:
    """Whether the feed carries aggregates of this key's kind, and the key can name one.

    An id is at most as long as the id columns: a longer one names nothing that could be held
    (``sql.among`` leaves it out; before it did, PostgreSQL's cast cut it to a row it does not
    name), and it would only sit in the marks.
    """
    kind, _, ident = key.partition(":")
    return kind in PARTS and 0 < len(ident) <= _ID_LENGTH


def claimable(conn: sa.Connection, property_id: str, keys: Iterable[str]) -> list[str]:
    """Those of ``keys``, named by an edge of the property, that it may have published again.

    Keys of kinds the feed carries, naming the property itself, an aggregate of the property,
    or one held nowhere (its tombstone deletes what only the edge created); never one of
    another property. An edge names them (what a set-aside or rejected mutation touched): a
    mistaken or hostile key must neither leak another property's rows to this property's
    edges nor give them rows their foreign keys refuse.
    """
    by_kind: dict[str, set[str]] = {}
    for key in keys:
        if carried(key):
            kind, _, ident = key.partition(":")
            by_kind.setdefault(kind, set()).add(ident)
    allowed: list[str] = []
    for kind, idents in sorted(by_kind.items()):
        if kind in _OF_THE_PROPERTY:  # named by the property's own id
            allowed += [f"{kind}:{i}" for i in sorted(idents) if i == property_id]
            continue
        root = PARTS[kind][0][0]
        foreign: set[str] = set()
        for chunk in chunks(sorted(idents)):
            query = sa.select(root.c.id).where(
                among(root.c.id, chunk, conn.dialect), root.c.property_id != property_id
            )
            foreign.update(conn.execute(query).scalars())
        allowed += [f"{kind}:{i}" for i in sorted(idents - foreign)]
    return allowed


def snapshot(conn: sa.Connection, key: str) -> Doc | None:
    """The aggregate's rows as a document, or None when it does not exist."""
    kind, ident = split(key)
    doc: Doc = {}
    for table, column in PARTS[kind]:
        query = (
            sa.select(table).where(table.c[column] == ident).order_by(*table.primary_key.columns)
        )
        doc[str(table.name)] = [row_doc(table, r) for r in conn.execute(query)]
    return doc if doc[PARTS[kind][0][0].name] else None


def snapshot_many(
    conn: sa.Connection,
    keys: Iterable[str],
    known: Mapping[tuple[str, str], list[dict[str, JSON]]] | None = None,
) -> dict[str, Doc | None]:
    """Several aggregates' documents, with one query per table (not per aggregate).

    The same documents as ``snapshot`` gives one by one: each table's rows in primary-key
    order, and None for an aggregate that does not exist. ``known`` gives the rows of some
    (table name, aggregate id) already, in that order: they are not read again.
    """
    known = known or {}
    by_kind: dict[str, list[str]] = {}
    for key in dict.fromkeys(keys):
        kind, ident = split(key)
        by_kind.setdefault(kind, []).append(ident)
    docs: dict[str, Doc | None] = {}
    for kind, idents in by_kind.items():
        parts = PARTS[kind]
        found: dict[str, Doc] = {i: {str(table.name): [] for table, _ in parts} for i in idents}
        for table, column in parts:
            name, at = str(table.name), list(table.columns.keys()).index(column)
            for ident in idents:
                if (name, ident) in known:
                    found[ident][name] = known[name, ident]
            todo = [i for i in idents if (name, i) not in known]
            for chunk in chunks(todo):
                query = (
                    sa.select(table)
                    .where(among(table.c[column], chunk, conn.dialect))
                    .order_by(*table.primary_key.columns)
                )
                for r in conn.execute(query):
                    found[r[at]][name].append(row_doc(table, r))
        root = parts[0][0].name
        for ident, doc in found.items():
            docs[f"{kind}:{ident}"] = doc if doc[root] else None
    return docs


def restore(conn: sa.Connection, key: str, doc: Doc | None) -> None:
    """Replace the aggregate's rows by the document's (delete them for a tombstone)."""
    kind, ident = split(key)
    parts = PARTS[kind]
    for table, column in reversed(parts):
        conn.execute(sa.delete(table).where(table.c[column] == ident))
    if doc is None:
        return
    for table, _ in parts:
        rows = [_values(table, row) for row in doc.get(table.name, [])]
        if rows:
            conn.execute(sa.insert(table), rows)


def restore_many(conn: sa.Connection, docs: dict[str, Doc | None]) -> None:
    """Make several aggregates' rows those of their documents, writing only what differs.

    Each table's rows of the aggregates are read and compared with the documents' by primary
    key: rows that differ or are gone are deleted (children first), rows that differ or are new
    are inserted (parents first). An edge pulling back its own changes writes nothing. The
    caller defers foreign-key checks to the commit (the aggregates come in any order).
    """
    by_kind: dict[str, list[tuple[str, Doc | None]]] = {}
    for key, doc in docs.items():
        kind, ident = split(key)
        by_kind.setdefault(kind, []).append((ident, doc))
    for kind, items in by_kind.items():
        parts = PARTS[kind]
        idents = [ident for ident, _ in items]
        plans = [_plan(conn, table, column, idents, items) for table, column in parts]
        for table, stale, _ in reversed(plans):
            _delete(conn, table, stale)
        for table, _, fresh in plans:
            if fresh:
                conn.execute(sa.insert(table), [_values(table, _whole(table, r)) for r in fresh])


_Row = dict[str, JSON]


def _plan(
    conn: sa.Connection,
    table: sa.Table,
    column: str,
    idents: list[str],
    items: list[tuple[str, Doc | None]],
) -> tuple[sa.Table, list[_Row], list[_Row]]:
    """(table, rows to delete, rows to insert) to make the table's rows the documents'."""
    rows = [row for _, doc in items if doc is not None for row in doc.get(str(table.name), [])]
    if conn.dialect.name == "sqlite":
        return _plan_stored(conn, table, column, idents, rows)
    key = _getter(list(_primary_key(table)))
    wanted = {key(row): row for row in rows}  # a later row of the same key wins
    present: dict[tuple[JSON, ...], _Row] = {}
    for chunk in chunks(idents):
        for r in conn.execute(sa.select(table).where(table.c[column].in_(chunk))):
            row = row_doc(table, r)
            present[key(row)] = row
    stale = [row for pk, row in present.items() if wanted.get(pk) != row]
    fresh = [row for pk, row in wanted.items() if present.get(pk) != row]
    return table, stale, fresh


def _plan_stored(
    conn: sa.Connection,
    table: sa.Table,
    column: str,
    idents: list[str],
    wanted: list[_Row],
) -> tuple[sa.Table, list[_Row], list[_Row]]:
    """``_plan`` comparing rows as SQLite stores them.

    The rows read are not converted (an edge pulls back thousands of its own rows); each
    document row is made what inserting it would store. A row stored as it would be stored
    needs no write. Rows are compared as tuples in the table's column order; of two document
    rows with one key, the later wins.
    """
    names, storers = _column_storers(table, conn.dialect)
    at = [names.index(k) for k in _primary_key(table)]
    key = _getter(at)
    columns = _getter(names)
    to_store: dict[tuple[object, ...], tuple[_Row, tuple[object, ...]]] = {}
    for doc_row in wanted:
        try:
            values: list[object] = list(columns(doc_row))
        except KeyError:  # a document without some column (an older central): taken as NULL
            values = [doc_row.get(name) for name in names]
        for i, store in storers:
            values[i] = store(values[i])  # type: ignore[arg-type] # the document's JSON value
        stored = tuple(values)
        to_store[key(stored)] = (doc_row, stored)
    present: dict[tuple[object, ...], tuple[object, ...]] = {}
    select = _stored_select(table, column)
    for chunk in chunks(idents):
        sql = select.format(marks(len(chunk)))
        result = conn.exec_driver_sql(sql, tuple(chunk))
        with result:  # the driver's own tuples, as sqlite3 gives them
            rows = result.cursor.fetchall()
        for held in rows:
            present[key(held)] = held
    stale = [
        {names[i]: held[i] for i in at}
        for pk, held in present.items()
        if pk not in to_store or to_store[pk][1] != held
    ]
    fresh = [doc for pk, (doc, stored) in to_store.items() if present.get(pk) != stored]
    return table, stale, fresh  # type: ignore[return-value] # a stale row gives only its key


def _getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values at these keys (column names, tuple positions) as a tuple."""
    if len(keys) == 1:  # itemgetter of one key gives the value itself
        key = keys[0]
        return lambda row: (row[key],)
    return operator.itemgetter(*keys)


@functools.cache
def _column_storers(
    table: sa.Table, dialect: sa.Dialect
) -> tuple[list[str], list[tuple[int, Callable[[JSON], object]]]]:
    """The table's column names, and the conversions ``_storers`` gives by column position."""
    names = [str(c.name) for c in table.columns]
    return names, [(names.index(name), store) for name, store in _storers(table, dialect)]


@functools.cache
def _stored_select(table: sa.Table, column: str) -> str:
    """SQLite text of the table's rows of some aggregates, every column as stored.

    ``{}`` takes the aggregates' ``?`` marks. At the driver: an edge compares thousands of
    rows a pull, and the statement's own handling of its parameters and rows cost a third of
    the read.
    """
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    where = f'"{column}" IN ({{}})'
    return f'SELECT {columns} FROM "{table.name}" WHERE {where}'  # noqa: S608 - its own names


@functools.cache
def _storers(
    table: sa.Table, dialect: sa.Dialect
) -> tuple[tuple[str, Callable[[JSON], object]], ...]:
    """The columns whose document value is not what an insert stores, with their conversions.

    A conversion is the column's parse, then its bind. Text, integers, flags (1 == True) and
    ISO dates are stored as the document has them.
    """
    parsers = _decoders(table)

    def storer(name: str) -> Callable[[JSON], object]:
        parse = parsers[name]
        bind = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

        def stored(value: JSON) -> object:
            if value is None:
                return None
            if isinstance(value, str) and len(value) == _STORED_UTC and value.endswith("+00:00"):
                return value  # a UTC time with its microseconds: stored as it is
            parsed = parse(value) if parse is not None and isinstance(value, str) else value
            return parsed if bind is None else bind(parsed)

        return stored

    kept = (sa.String, sa.Integer, sa.Boolean, sa.Date)
    return tuple(
        (str(c.name), storer(str(c.name)))
        for c in table.columns
        if not isinstance(c.type, kept) or isinstance(c.type, sa.TypeDecorator)
    )


_STORED_UTC = len("2026-12-01T09:00:00.000000+00:00")  # UTCDateTime's text on SQLite


def _delete(conn: sa.Connection, table: sa.Table, rows: list[_Row]) -> None:
    key = _primary_key(table)
    columns = [table.c[k] for k in key]
    values = [_values(table, {k: row[k] for k in key}) for row in rows]
    for n in range(0, len(values), 500):
        chunk = values[n : n + 500]
        if len(columns) == 1:
            where = columns[0].in_([v[key[0]] for v in chunk])
        else:
            where = sa.tuple_(*columns).in_([tuple(v[k] for k in key) for v in chunk])
        conn.execute(sa.delete(table).where(where))


@functools.cache
def _primary_key(table: sa.Table) -> tuple[str, ...]:
    return tuple(str(c.name) for c in table.primary_key.columns)


def checksum(doc: Doc | None) -> int:
    """CRC32 of a document's canonical encoding."""
    return canonical.crc32(doc)


def row_doc(table: sa.Table, values: Sequence[Any]) -> dict[str, JSON]:
    """A row (its values in the table's column order) as the feed's plain JSON values.

    The same values ``canonical.to_json`` gives, by a conversion chosen once per column from
    its type: a replayed batch snapshots hundreds of thousands of rows.
    """
    return {
        name: value if convert is None or value is None else convert(value)
        for (name, convert), value in zip(_encoders(table), values, strict=True)
    }


def _whole(table: sa.Table, row: _Row) -> _Row:
    """A document row with the nullable columns it lacks (from an older central) as NULL.

    The rows of a table are inserted together, by the columns of the first: one lacking a
    column must not drop it from the others, nor fail beside them.
    """
    missing = [name for name in _nullable(table) if name not in row]
    return {**row, **dict.fromkeys(missing)} if missing else row


@functools.cache
def _nullable(table: sa.Table) -> tuple[str, ...]:
    return tuple(str(c.name) for c in table.columns if c.nullable)


def _values(table: sa.Table, row: dict[str, JSON]) -> dict[str, object]:
    parsers = _decoders(table)
    values: dict[str, object] = {}
    for name, value in row.items():
        parse = parsers[name]
        values[name] = parse(value) if parse is not None and isinstance(value, str) else value
    return values


_Encode = Callable[[object], JSON]
_PLAIN = (sa.String, sa.Integer, sa.Boolean)  # the driver gives str, int and bool: already JSON


@functools.cache
def _encoders(table: sa.Table) -> tuple[tuple[str, _Encode | None], ...]:
    # plain str keys (a column's name is a str subclass, which orjson refuses as a key)
    return tuple((str(c.name), _encoder(c.type)) for c in table.columns)


def _encoder(kind: sa.types.TypeEngine[object]) -> _Encode | None:
    if isinstance(kind, sa.Date):
        return date.isoformat  # type: ignore[return-value] # a date's canonical text
    if isinstance(kind, UTCDateTime | DecimalText):
        return canonical.to_json  # the canonical text of a UTC datetime or of a Decimal
    if isinstance(kind, _PLAIN):
        return None
    return canonical.to_json  # pragma: no cover - every column type is one of the above


@functools.cache
def _decoders(table: sa.Table) -> dict[str, Callable[[str], object] | None]:
    return {str(c.name): _decoder(c.type) for c in table.columns}


def _decoder(kind: sa.types.TypeEngine[object]) -> Callable[[str], object] | None:
    for type_, parse in _PARSERS:
        if isinstance(kind, type_):
            return parse
    return None


_PARSERS: tuple[tuple[type, Callable[[str], object]], ...] = (
    (UTCDateTime, datetime.fromisoformat),
    (DecimalText, Decimal),
    (sa.Date, date.fromisoformat),
)
