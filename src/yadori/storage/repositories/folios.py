"""Folios and their append-only lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from yadori.domain.errors import UnknownFolio
from yadori.domain.folio import Folio, FolioLine, FolioStatus, LineKind, ManagerOverride
from yadori.domain.taxes import TaxClass
from yadori.storage.aggregates import row_doc
from yadori.storage.bulk import insert_rows
from yadori.storage.grown_folios import Growth
from yadori.storage.sql import among
from yadori.storage.tables import folio_lines, folios
from yadori.sync.canonical import JSON

# Statements built once (see rooms.py).
_NEXT_POSITION = sa.select(sa.func.coalesce(sa.func.max(folio_lines.c.position), 0) + 1).where(
    folio_lines.c.folio_id == sa.bindparam("folio_id")
)
# A folio's last line position, beside the folio: PostgreSQL and SQLite read it as the last
# entry of the (folio_id, position) index, not by reading every line of a long stay. Should the
# FOR UPDATE wait for another writer's lock on a folio, this subquery keeps the statement's
# snapshot and misses that writer's lines: safe only because a write unit takes its property's
# lock before its first statement (decision 0038; SQLite has one writer at a time). A miss
# would be refused by the (folio_id, position) key, never stored.
LAST_POSITION = (
    sa.select(sa.func.max(folio_lines.c.position))
    .where(folio_lines.c.folio_id == folios.c.id)
    .scalar_subquery()
    .label("last_position")
)
_LINE_COUNT = (
    sa.select(sa.func.count())
    .where(folio_lines.c.folio_id == folios.c.id)
    .scalar_subquery()
    .label("line_count")
)
_HEADER = len(folios.columns)  # a read-ahead row's folio columns, before the line figures
_LINE_COLUMNS = tuple(str(column.name) for column in folio_lines.columns)
_POSTED_AT = _LINE_COLUMNS.index("posted_at")


class SqlFolios:
    """Folios of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._touched = touched
        self._property_id = property_id
        # Within one transaction a locked folio cannot change but through this repository, so
        # its header and next line position are read once: central replays hundreds of
        # postings to the same few folios in one transaction.
        self._locked: dict[str, Folio] = {}
        self._next_position: dict[str, int] = {}
        # Lines appended but not yet written: the unit of work flushes them in one batched
        # insert before its connection runs any other statement, and before it commits.
        self._unwritten: list[dict[str, object]] = []
        self._new: list[dict[str, object]] = []  # folios added, written the same way
        # What this unit of work knows of a folio's rows, for publishing it without reading
        # them again (decision 0050): the header row and line count and last position of each
        # folio read ahead or added (while it holds it, unchanged but by appending), and the
        # lines appended to any folio.
        self._seen: dict[str, tuple[tuple[object, ...], int, int]] = {}
        self._added: dict[str, list[dict[str, object]]] = {}

    def forget(self) -> None:
        """Drop what was read and not written.

        A savepoint was rolled back, or rows were written behind the repository's back.
        """
        self._locked.clear()
        self._next_position.clear()
        self._unwritten.clear()
        self._new.clear()
        self._seen.clear()
        self._added.clear()

    def held(
        self, folio_ids: Iterable[str]
    ) -> tuple[dict[str, list[dict[str, JSON]]], dict[str, Growth]]:
        """Of these folios, those whose rows this unit of work knows (decision 0050).

        Their header rows and how their lines grew since it locked them, as the change feed's
        documents carry them.
        """
        headers: dict[str, list[dict[str, JSON]]] = {}
        growth: dict[str, Growth] = {}
        for folio_id in folio_ids:
            seen = self._seen.get(folio_id)
            if seen is None:
                continue
            header, count, last = seen
            headers[folio_id] = [row_doc(folios, header)]
            added = [row_doc(folio_lines, _line_values(r)) for r in self._added.get(folio_id, [])]
            growth[folio_id] = Growth(count, last, added)
        return headers, growth

    def flush(self) -> None:
        """Write the folios added and lines appended since the last flush, a statement each."""
        if self._new:
            added, self._new = self._new, []
            insert_rows(self._conn, folios, added)
        if self._unwritten:
            rows, self._unwritten = self._unwritten, []
            insert_rows(self._conn, folio_lines, rows)

    def read_ahead(self, folio_ids: list[str], *, counted: bool = False) -> None:
        """Lock and read the headers and next positions of folios about to be posted to.

        ``counted``: their line counts too, so that the unit of work holds them (``held``).
        """
        wanted = [f for f in dict.fromkeys(folio_ids) if f not in self._locked]
        for n in range(0, len(wanted), 500):
            chunk = wanted[n : n + 500]
            query = (
                sa.select(folios, LAST_POSITION)
                .where(
                    folios.c.property_id == self._property_id,
                    among(folios.c.id, chunk, self._conn.dialect),
                )
                .order_by(folios.c.id)
                .with_for_update(of=folios)
            )
            for row in self._conn.execute(query.add_columns(_LINE_COUNT) if counted else query):
                self._locked[row.id] = _folio(row, ())
                last = row.last_position or 0
                if counted and row.id not in self._added:  # appended to before: not held
                    self._seen[row.id] = (tuple(row[:_HEADER]), row.line_count, last)
                if row.last_position is None:
                    self._next_position.setdefault(row.id, 1)
                else:
                    self._next_position[row.id] = row.last_position + 1

    def get(self, folio_id: str, *, for_update: bool = False, lines: bool = True) -> Folio:
        """One folio, with its lines unless ``lines`` is false; UnknownFolio when it is not here.

        Posting a charge or a payment needs only the folio's status: skipping the lines keeps a
        long stay's folio from being read again for every line posted to it.
        """
        if for_update and not lines and folio_id in self._locked:
            return self._locked[folio_id]
        folio = self._one(folios.c.id == folio_id, for_update, folio_id, with_lines=lines)
        if for_update and not lines:
            self._locked[folio_id] = folio
        return folio

    def for_reservation(self, reservation_id: str, *, for_update: bool = False) -> Folio:
        """The folio of a stay (locked until the transaction ends when ``for_update``)."""
        return self._one(folios.c.reservation_id == reservation_id, for_update, reservation_id)

    def add(self, folio: Folio) -> None:
        """Create an empty folio (no other transaction sees it before the commit)."""
        self._touched.add(f"folio:{folio.id}")
        self._new.append(
            {
                "id": folio.id,
                "property_id": self._property_id,
                "reservation_id": folio.reservation_id,
                "status": folio.status.value,
            }
        )
        self._locked[folio.id] = folio
        self._next_position[folio.id] = 1
        header = (folio.id, self._property_id, folio.reservation_id, folio.status.value, None, None)
        self._seen[folio.id] = (header, 0, 0)  # converted only if published (held)

    def append(self, folio_id: str, line: FolioLine, *, actor: str, at: datetime) -> None:
        """Append a line at the next position; lines are never updated."""
        self._touched.add(f"folio:{folio_id}")
        position = self._next_position.get(folio_id)
        if position is None:
            position = self._conn.execute(_NEXT_POSITION, {"folio_id": folio_id}).scalar_one()
        self._next_position[folio_id] = position + 1
        row: dict[str, object] = {
            "id": line.id,
            "folio_id": folio_id,
            "position": position,
            "kind": line.kind.value,
            "category": line.category,
            "description": line.description,
            "amount": line.amount,
            "business_date": line.business_date,
            "tax_class": line.tax_class.value,
            "tax_included": line.tax_included,
            "voids": line.voids,
            "night": line.night,
            "posted_by": actor,
            "posted_at": at,
        }
        self._unwritten.append(row)
        self._added.setdefault(folio_id, []).append(row)

    def set_status(self, folio: Folio) -> None:
        """Store the status, and the manager override that allowed it, if any."""
        self._touched.add(f"folio:{folio.id}")
        self._locked.pop(folio.id, None)
        self._seen.pop(folio.id, None)  # its header changed
        override = folio.override
        self._conn.execute(
            sa.update(folios)
            .where(folios.c.id == folio.id)
            .values(
                status=folio.status.value,
                override_manager_id=override.manager_id if override else None,
                override_reason=override.reason if override else None,
            )
        )

    def _one(
        self, where: sa.ColumnElement[bool], for_update: bool, name: str, *, with_lines: bool = True
    ) -> Folio:
        query = sa.select(folios).where(folios.c.property_id == self._property_id, where)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise UnknownFolio(f"no folio for {name}", folio=name)
        lines = (
            self._conn.execute(
                sa.select(folio_lines)
                .where(folio_lines.c.folio_id == row.id)
                .order_by(folio_lines.c.position)
            ).all()
            if with_lines
            else []
        )
        return _folio(row, tuple(_line(r) for r in lines))


def _line_values(row: dict[str, object]) -> tuple[object, ...]:
    """An appended line's values as the table gives them back, in its column order."""
    values = [row[name] for name in _LINE_COLUMNS]
    posted_at = values[_POSTED_AT]
    if isinstance(posted_at, datetime):  # stored as UTC, read back as UTC
        values[_POSTED_AT] = posted_at.astimezone(UTC)
    return tuple(values)


def _folio(row: sa.Row[tuple[object, ...]], lines: tuple[FolioLine, ...]) -> Folio:
    m = row._mapping
    override = (
        ManagerOverride(m["override_manager_id"], m["override_reason"])
        if m["override_manager_id"]
        else None
    )
    return Folio(
        id=m["id"],
        reservation_id=m["reservation_id"],
        status=FolioStatus(m["status"]),
        lines=lines,
        override=override,
    )


def _line(row: sa.Row[tuple[object, ...]]) -> FolioLine:
    m = row._mapping
    return FolioLine(
        id=m["id"],
        kind=LineKind(m["kind"]),
        category=m["category"],
        description=m["description"],
        amount=m["amount"],
        business_date=m["business_date"],
        tax_class=TaxClass(m["tax_class"]),
        tax_included=m["tax_included"],
        voids=m["voids"],
        night=m["night"],
    )
