"""Folios and their append-only lines."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yadori.domain.errors import UnknownFolio
from yadori.domain.folio import Folio, FolioLine, FolioStatus, LineKind, ManagerOverride
from yadori.domain.taxes import TaxClass
from yadori.storage.bulk import insert_rows
from yadori.storage.sql import among
from yadori.storage.tables import folio_lines, folios

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
_LAST_POSITION = (
    sa.select(sa.func.max(folio_lines.c.position))
    .where(folio_lines.c.folio_id == folios.c.id)
    .scalar_subquery()
    .label("last_position")
)


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

    def forget(self) -> None:
        """Drop what was read and not written (a savepoint was rolled back)."""
        self._locked.clear()
        self._next_position.clear()
        self._unwritten.clear()
        self._new.clear()

    def flush(self) -> None:
        """Write the folios added and lines appended since the last flush, a statement each."""
        if self._new:
            added, self._new = self._new, []
            insert_rows(self._conn, folios, added)
        if self._unwritten:
            rows, self._unwritten = self._unwritten, []
            insert_rows(self._conn, folio_lines, rows)

    def read_ahead(self, folio_ids: list[str]) -> None:
        """Lock and read the headers and next positions of folios about to be posted to."""
        wanted = [f for f in dict.fromkeys(folio_ids) if f not in self._locked]
        for n in range(0, len(wanted), 500):
            chunk = wanted[n : n + 500]
            query = (
                sa.select(folios, _LAST_POSITION)
                .where(
                    folios.c.property_id == self._property_id,
                    among(folios.c.id, chunk, self._conn.dialect),
                )
                .order_by(folios.c.id)
                .with_for_update(of=folios)
            )
            for row in self._conn.execute(query):
                self._locked[row.id] = _folio(row, ())
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

    def append(self, folio_id: str, line: FolioLine, *, actor: str, at: datetime) -> None:
        """Append a line at the next position; lines are never updated."""
        self._touched.add(f"folio:{folio_id}")
        position = self._next_position.get(folio_id)
        if position is None:
            position = self._conn.execute(_NEXT_POSITION, {"folio_id": folio_id}).scalar_one()
        self._next_position[folio_id] = position + 1
        self._unwritten.append(
            {
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
        )

    def set_status(self, folio: Folio) -> None:
        """Store the status, and the manager override that allowed it, if any."""
        self._touched.add(f"folio:{folio.id}")
        self._locked.pop(folio.id, None)
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
