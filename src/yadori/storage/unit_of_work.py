"""The unit of work: one transaction over the repositories and the outbox.

A command's rows and its mutation are written through the same connection and committed
together, or not at all. Driver errors are translated here, at the boundary: a unique-key
clash becomes the domain's AlreadyExists, a database that cannot be reached or stays locked
becomes StorageUnavailable.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Self

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from yadori.domain.errors import AlreadyExists, DomainError, InvalidInput
from yadori.services.errors import StorageUnavailable
from yadori.storage.engine import READ_ONLY
from yadori.storage.repositories.feed_publish import Held
from yadori.storage.repositories.folios import SqlFolios
from yadori.storage.repositories.ledger import SqlLedger
from yadori.storage.repositories.menu import SqlMenu, SqlStock
from yadori.storage.repositories.orders import SqlGuestTokens, SqlOrders
from yadori.storage.repositories.outbox import SqlCounters, SqlOutbox
from yadori.storage.repositories.rates import SqlRatePlans
from yadori.storage.repositories.reservations import SqlReservations
from yadori.storage.repositories.rooms import SqlProperties, SqlRooms, SqlRoomTypes
from yadori.storage.repositories.staff import SqlStaff
from yadori.storage.repositories.tickets import SqlTickets
from yadori.sync.canonical import JSON

_PROPERTY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:pid))").bindparams(
    ns=0x59414452  # "YADR": keeps these keys apart from any other advisory lock
)

WRITER_WAIT_S = 30.0  # how long a writer waits for its property before giving up


class _Gates:
    """One in-process lock per property of one database.

    Central's writers of a property queue here, holding no pooled connection, before they take
    the property's advisory lock (which still orders them against other processes). A queue of
    waiters holding a connection each could empty the pool that the writer they wait for needs.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.waiting = 0

    def enter(self, property_id: str) -> threading.Lock:
        """The property's lock, acquired; StorageUnavailable after WRITER_WAIT_S."""
        with self._guard:
            gate = self._locks.setdefault(property_id, threading.Lock())
            self.waiting += 1
        try:
            got = gate.acquire(timeout=WRITER_WAIT_S)
        finally:
            with self._guard:
                self.waiting -= 1
        if not got:
            raise StorageUnavailable(
                f"another change to this property has held it for {WRITER_WAIT_S:.0f} s; "
                "try again in a moment"
            )
        return gate


_GATES: weakref.WeakKeyDictionary[Engine, _Gates] = weakref.WeakKeyDictionary()
_GATES_GUARD = threading.Lock()


def _gates(engine: Engine) -> _Gates:
    with _GATES_GUARD:
        found = _GATES.get(engine)
        if found is None:
            found = _GATES[engine] = _Gates()
        return found


def writers_waiting(engine: Engine) -> int:
    """Writers of this process waiting for their property on this database (for tests)."""
    return _gates(engine).waiting


class SqlUnitOfWork:
    """A transaction on the node's database, scoped to one property."""

    properties: SqlProperties
    room_types: SqlRoomTypes
    rooms: SqlRooms
    rate_plans: SqlRatePlans
    reservations: SqlReservations
    folios: SqlFolios
    outbox: SqlOutbox
    counters: SqlCounters
    tickets: SqlTickets
    ledger: SqlLedger
    menu: SqlMenu
    stock: SqlStock
    orders: SqlOrders
    guest_tokens: SqlGuestTokens
    staff: SqlStaff

    def __init__(
        self,
        engine: Engine,
        property_id: str,
        now: Callable[[], datetime],
        *,
        read_only: bool = False,
    ) -> None:
        self.property_id = property_id
        self._engine = engine
        self._now = now
        self._read_only = read_only
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self._touched: set[str] = set()
        self._flushing = False
        self._gate: threading.Lock | None = None

    def __enter__(self) -> Self:
        serialised = not self._read_only and self._engine.dialect.name == "postgresql"
        if serialised:
            self._gate = _gates(self._engine).enter(self.property_id)
        conn: sa.Connection | None = None
        try:
            conn = self._engine.connect()
            conn.info[READ_ONLY] = self._read_only
            self._tx = conn.begin()
            if serialised:
                # One writer per property at a time, as BEGIN IMMEDIATE gives the edge's
                # SQLite: a replayed batch counts sold nights and room holders in memory
                # (decisions 0033, 0036), and two bookings of the last room must not both see
                # it free (decision 0038).
                conn.execute(_PROPERTY_LOCK, {"pid": self.property_id})
        except BaseException as exc:
            if conn is not None:
                conn.info.pop(READ_ONLY, None)
                conn.close()
            self._leave()
            if isinstance(exc, sa_exc.OperationalError):
                how = "cannot be reached" if self._tx is None else "did not answer"
                raise StorageUnavailable(f"the database {how}: {exc.orig}") from exc
            raise
        self._conn = conn
        pid, touched = self.property_id, self._touched
        self.properties = SqlProperties(conn, pid, touched)
        self.room_types = SqlRoomTypes(conn, pid, touched)
        self.rooms = SqlRooms(conn, pid, touched)
        self.rate_plans = SqlRatePlans(conn, pid, touched)
        self.reservations = SqlReservations(conn, pid, touched)
        self.folios = SqlFolios(conn, pid, touched)
        self.tickets = SqlTickets(conn, pid, touched)
        self.staff = SqlStaff(conn, pid, touched)
        self.ledger = SqlLedger(conn, pid, self._held)
        self.menu = SqlMenu(conn, pid, touched)
        self.stock = SqlStock(conn, pid, touched)
        self.orders = SqlOrders(conn, pid, touched)
        self.guest_tokens = SqlGuestTokens(conn, pid, touched)
        self.outbox = SqlOutbox(conn, self.property_id, self._now())
        self.counters = SqlCounters(conn, self.property_id)
        # Written-behind rows (new reservations and folios, folio lines, room saves) reach the
        # database before any other statement runs on this connection, so every read sees
        # them (see flush).
        sa.event.listen(conn, "before_execute", self._before_execute)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None  # noqa: S101 - __enter__ ran
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self._conn.info.pop(READ_ONLY, None)
            self._conn.close()
            self._leave()  # after the transaction ended: the next writer sees it all
        if isinstance(exc, sa_exc.IntegrityError):
            raise _integrity_error(exc) from exc
        if isinstance(exc, sa_exc.DataError):
            raise InvalidInput(f"a value does not fit its column: {exc.orig}") from exc
        if isinstance(exc, sa_exc.OperationalError):
            raise StorageUnavailable(f"the database did not answer: {exc.orig}") from exc

    def _leave(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    def flush(self) -> None:
        """Write what the repositories hold back (batched inserts and updates).

        Called before every other statement on the connection, at each savepoint's edges and
        before the commit: a replayed batch's hundreds of postings become one insert.
        """
        if self._flushing:
            return
        self._flushing = True
        try:
            self.reservations.flush()  # first: folios refer to them
            self.folios.flush()
            self.rooms.flush()
        finally:
            self._flushing = False

    def read_ahead(self, keys: Iterable[str], *, to_publish: bool = False) -> None:
        """Lock and read, in a few statements, the aggregates a batch is about to change.

        ``to_publish``: the folios' line counts too, to publish them from what the unit of work
        holds (decision 0050); a batch that only marks what it changed does without.
        """
        ids: dict[str, list[str]] = {"folio": [], "room": [], "reservation": []}
        for key in keys:
            kind, _, ident = key.rpartition("/")[2].partition(":")
            if kind in ids:
                ids[kind].append(ident)
        self.reservations.read_ahead(ids["reservation"])
        self.folios.read_ahead(ids["folio"], counted=to_publish)
        self.rooms.read_ahead(ids["room"])
        self.reservations.read_holds_ahead(ids["room"])

    def _held(self, keys: list[str]) -> Held:
        """The rows of these aggregates that the repositories hold, for publishing them."""
        ids: dict[str, list[str]] = {"folio": [], "room": []}
        for key in keys:
            kind, _, ident = key.partition(":")
            if kind in ids:
                ids[kind].append(ident)
        headers, growth = self.folios.held(ids["folio"])
        rows: dict[tuple[str, str], list[dict[str, JSON]]] = {
            ("folios", folio_id): header for folio_id, header in headers.items()
        }
        rows.update(
            (("rooms", room_id), [row]) for room_id, row in self.rooms.held(ids["room"]).items()
        )
        return rows, growth

    def _before_execute(self, *_: object) -> None:
        self.flush()

    def commit(self) -> None:
        """Commit everything written in this unit of work at once."""
        assert self._tx is not None  # noqa: S101 - __enter__ ran
        try:
            self.flush()
            self._tx.commit()
        except sa_exc.IntegrityError as exc:
            raise _integrity_error(exc) from exc
        except sa_exc.OperationalError as exc:
            raise StorageUnavailable(f"the commit failed: {exc.orig}") from exc
        self._leave()  # the advisory lock ended with the transaction: so does the queue's
        self.ledger.committed()

    @contextmanager
    def savepoint(self) -> Iterator[sa.NestedTransaction]:
        """A nested transaction (SAVEPOINT): rolled back alone if its block raises."""
        self.flush()  # what came before the savepoint is kept if it is rolled back
        nested = self.connection.begin_nested()
        try:
            yield nested
            self.flush()  # a write refused here is refused inside the savepoint
        except BaseException:
            nested.rollback()
            for repository in (
                self.reservations,
                self.folios,
                self.rooms,
                self.room_types,
                self.rate_plans,
                self.staff,
            ):
                repository.forget()  # what they read may have been rolled back
            self.ledger.forget()
            raise
        nested.commit()

    def from_storage(self, exc: BaseException) -> bool:
        """Whether the database raised ``exc`` (see ``__exit__`` for how it is mapped).

        The driver's errors, wrapped by SQLAlchemy or raw (a COPY runs at the driver), and a
        transaction SQLAlchemy must roll back first. Not SQLAlchemy's own refusals of the
        code's requests (a value its type cannot bind, ``.one()`` finding none): those are
        the code's.
        """
        return isinstance(
            exc, sa_exc.DBAPIError | sa_exc.PendingRollbackError | psycopg.Error | sqlite3.Error
        )

    def refused_data(self, exc: BaseException) -> str | None:
        """The driver's error's name if the database refused ``exc``'s statement for its data.

        SQLSTATE classes 22 (a value out of range, too long, of the wrong form) and 23 (a
        foreign key, a check, a NOT NULL) but a duplicate key (23505, which has its own path)
        and the characters the database's encoding cannot hold (its set-up, not the data), and
        the driver's own refusal of a value: the same statement on the same rows is refused
        again, unlike a lost connection or a deadlock. None for anything else.
        """
        driver = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
        if isinstance(driver, psycopg.Error):
            state = driver.sqlstate
            if state is None:  # refused by the driver before sending: a NUL in a text
                refused = isinstance(driver, psycopg.DataError)
            else:
                refused = state[:2] in {"22", "23"} and state not in _NOT_THE_DATA
        elif isinstance(driver, sqlite3.IntegrityError):
            refused = not str(driver).startswith("UNIQUE constraint failed")
        else:
            refused = isinstance(driver, sqlite3.DataError)
        return type(driver).__name__ if refused else None

    def touched(self) -> frozenset[str]:
        """Every aggregate a repository changed in this unit of work (``room:<id>`` …)."""
        return frozenset(self._touched)

    @property
    def connection(self) -> sa.Connection:
        """The open connection, for read models that query across tables."""
        assert self._conn is not None  # noqa: S101 - __enter__ ran
        return self._conn


_UNIQUE_VIOLATION = "23505"
# a duplicate key; characters the database's encoding cannot hold (a central set up without
# UTF8 refuses every Japanese name: fixed by IT, then the same push goes through)
_NOT_THE_DATA = frozenset({_UNIQUE_VIOLATION, "22P05", "22021"})


def _integrity_error(exc: sa_exc.IntegrityError) -> DomainError:
    text = str(exc.orig).splitlines()[0]
    if "unique" in text.lower() or getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return AlreadyExists(f"a record with that id or number already exists ({text})")
    return InvalidInput(f"the change refers to a record that does not exist ({text})")


class SqlUnitOfWorkFactory:
    """Makes units of work on one engine; the composition root hands this to the bus."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self._now = now

    def __call__(self, property_id: str, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work for the property."""
        return SqlUnitOfWork(self.engine, property_id, self._now, read_only=read_only)
