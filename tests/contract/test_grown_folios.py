"""The feed grows a folio's document by its new lines: always the document a snapshot gives.

Whatever was appended, voided, rolled back with a savepoint or written behind the repository's
back, in the publishing transaction or before it, read ahead (held) by the publishing unit of
work or not, the published document is byte for byte the whole snapshot's. Rooms and folios a
unit of work holds are published from its rows, not read again (decision 0050). On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.hotel import Hotel
from support.locks import wait_until_blocked
from yadori.domain.conflicts import RegisterStamp
from yadori.domain.folio import FolioLine, FolioStatus, LineKind
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.storage import aggregates, grown_folios
from yadori.storage.grown_folios import grown_lines
from yadori.storage.repositories.feed_publish import CHECK_HELD, HeldDocumentDiffers
from yadori.storage.tables import folio_lines, sync_feed
from yadori.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from yadori.sync import canonical

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAMP = RegisterStamp(30, "000000000000100-000000-C", "C")  # who wrote the rooms changed here
FOLIOS = 3

Op = tuple[str, int, int]  # (what, folio index, amount)
OPS = st.tuples(
    st.sampled_from(["post", "post", "void", "rolled_back", "behind_its_back"]),
    st.integers(0, FOLIOS - 1),
    st.integers(1, 99_999),
)


@pytest.fixture
def folios(hotel: Hotel) -> list[str]:
    """Folios of new bookings, each published once with one line."""
    ids = [hotel.folio_id(hotel.book()) for _ in range(FOLIOS)]
    with unit(hotel) as uow:
        for folio_id in ids:
            uow.folios.append(folio_id, line(1), actor="s", at=NOW)
        uow.ledger.publish(uow.touched())
        uow.commit()
    return ids


def unit(hotel: Hotel) -> SqlUnitOfWork:
    """A unit of work on the hotel's database."""
    return SqlUnitOfWorkFactory(hotel.node.engine, lambda: NOW)(hotel.property_id)


def line(amount: int, voids: str | None = None) -> FolioLine:
    """A charge, or the void of one."""
    kind = LineKind.VOID if voids else LineKind.CHARGE
    return FolioLine(new_id(), kind, "misc", "x", amount, NOW.date(), voids=voids)


def apply(uow: SqlUnitOfWork, folio_id: str, op: Op) -> None:
    """One operation on a folio."""
    what, _, amount = op
    if what == "post":
        uow.folios.append(folio_id, line(amount), actor="s", at=NOW)
    elif what == "void":
        live = uow.folios.get(folio_id).live_lines()
        if live:
            uow.folios.append(folio_id, line(-live[-1].amount, live[-1].id), actor="s", at=NOW)
    elif what == "rolled_back":
        with pytest.raises(RuntimeError):
            rolled_back(uow, folio_id, amount)
    else:  # a line no repository knows of: the folio must be read whole
        position = len(uow.folios.get(folio_id).lines) + 1
        uow.connection.execute(
            sa.insert(folio_lines).values(
                id=new_id(),
                folio_id=folio_id,
                position=position,
                kind="charge",
                category="misc",
                description="raw",
                amount=amount,
                business_date=NOW.date(),
                tax_class="none",
                tax_included=True,
                posted_by="s",
                posted_at=NOW,
            )
        )
        uow.folios.forget()


def rolled_back(uow: SqlUnitOfWork, folio_id: str, amount: int) -> None:
    """A line appended in a savepoint that is rolled back."""
    with uow.savepoint():
        uow.folios.append(folio_id, line(amount), actor="s", at=NOW)
        raise RuntimeError


@contextmanager
def reads(uow: SqlUnitOfWork) -> Iterator[list[str]]:
    """The statements the unit of work's connection runs meanwhile."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    sa.event.listen(uow.connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(uow.connection, "before_cursor_execute", record)


def read_tables(statements: list[str]) -> set[str]:
    """Which of folios, folio_lines and rooms the statements read."""
    found = set()
    for statement in statements:
        head = " ".join(statement.split()).lower()
        if head.startswith("select"):
            tail = head.partition(" from ")[2]
            found |= {t for t in ("folios", "folio_lines", "rooms") if tail.startswith(t)}
    return found


def published(hotel: Hotel, folio_id: str) -> str | None:
    """The document the feed holds for a folio."""
    with hotel.node.engine.connect() as conn:
        key = f"{hotel.property_id}/folio:{folio_id}"
        return conn.execute(sa.select(sync_feed.c.doc).where(sync_feed.c.key == key)).scalar()


def snapshot(hotel: Hotel, folio_id: str) -> str:
    """The folio's document read whole from its tables."""
    with hotel.node.engine.connect() as conn:
        return canonical.encode_plain(aggregates.snapshot(conn, f"folio:{folio_id}")).decode()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.lists(OPS, min_size=1, max_size=6)),
        min_size=1,
        max_size=4,
    )
)
def test_a_published_folio_is_its_whole_snapshot(
    hotel: Hotel, folios: list[str], transactions: list[tuple[bool, bool, list[Op]]]
) -> None:
    """Each transaction's ops, published in it or marked for a later publish (as a replayed
    batch's are, for the next pull), with the folios read ahead (held, as a replayed batch
    holds them) or not: every folio's document is its snapshot's."""
    for later, ahead, ops in transactions:
        with unit(hotel) as uow:
            if ahead:
                uow.read_ahead([f"folio:{f}" for f in folios], to_publish=not later)
            for op in ops:
                apply(uow, folios[op[1]], op)
            # whoever writes a line publishes its folio, even behind the repository's back
            changed = uow.touched() | {f"folio:{folios[op[1]]}" for op in ops}
            if later:
                uow.ledger.mark(changed)
            else:
                uow.ledger.publish(changed)
            uow.commit()
        if later:
            with unit(hotel) as uow:
                assert uow.ledger.publish_marked() == len(changed)
                assert uow.ledger.publish_marked() == 0  # the marks are cleared
                uow.commit()
        for folio_id in folios:
            assert published(hotel, folio_id) == snapshot(hotel, folio_id)


def test_only_folios_that_agree_with_the_table_are_grown(hotel: Hotel, folios: list[str]) -> None:
    """New lines are found by position, whoever wrote them; a folio whose table no longer
    holds its document's lines (one deleted behind the feed's back) is snapshotted whole."""
    plain, raw, tampered = folios
    with unit(hotel) as uow:
        apply(uow, plain, ("post", 0, 500))
        apply(uow, raw, ("behind_its_back", 1, 900))
        apply(uow, tampered, ("post", 2, 700))
        uow.flush()
        gone = sa.delete(folio_lines).where(
            folio_lines.c.folio_id == tampered, folio_lines.c.position == 1
        )
        uow.connection.execute(gone)
        grown = grown_lines(uow.connection, f"{hotel.property_id}/folio:", folios)
        assert set(grown) == {plain, raw}
        for folio_id, amounts in ((plain, [1, 500]), (raw, [1, 900])):
            ordered = sorted(grown[folio_id], key=lambda e: int(str(e["position"])))
            assert [entry["amount"] for entry in ordered] == amounts


def test_documents_of_a_rolled_back_transaction_are_never_grown_from(
    hotel: Hotel, folios: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rolled-back publish hands its version on; only committed documents are kept.

    The next transaction takes the same version for the folio; here it commits in "another
    process" (this one keeps nothing of it), so a document kept from the rolled-back publish
    would be found under that version and grown from.
    """
    folio_id = folios[0]
    with unit(hotel) as uow:  # published, never committed
        apply(uow, folio_id, ("post", 0, 111))
        uow.ledger.publish(uow.touched())
    with monkeypatch.context() as m, unit(hotel) as uow:
        m.setattr(grown_folios.CACHE, "put", lambda entries: None)
        apply(uow, folio_id, ("post", 0, 222))
        uow.ledger.publish(uow.touched())
        uow.commit()
    with unit(hotel) as uow:
        apply(uow, folio_id, ("post", 0, 333))
        uow.ledger.publish(uow.touched())
        uow.commit()
    assert published(hotel, folio_id) == snapshot(hotel, folio_id)


def _marked(hotel: Hotel, folio_id: str) -> None:
    """Mark the folio, committed (as an earlier batch would have)."""
    with unit(hotel) as uow:
        uow.ledger.mark([f"folio:{folio_id}"])
        uow.commit()


def test_a_pull_publishing_while_a_batch_marks_loses_no_change(
    hotel: Hotel, folios: list[str]
) -> None:
    """A batch marks a folio already marked and posts to it; a pull publishing meanwhile waits
    for the batch, so its document has the batch's line (PostgreSQL: concurrent writers)."""
    if hotel.node.engine.dialect.name != "postgresql":
        return  # SQLite has one writer at a time: nothing runs meanwhile
    folio_id = folios[0]
    _marked(hotel, folio_id)
    with unit(hotel) as batch, ThreadPoolExecutor(1) as pool:
        apply(batch, folio_id, ("post", 0, 4_321))
        batch.ledger.mark([f"folio:{folio_id}"])
        batch.flush()

        def pull() -> int:
            with unit(hotel) as uow:
                published = uow.ledger.publish_marked()
                uow.commit()
            return published

        pulling = pool.submit(pull)
        wait_until_blocked(hotel.node.engine, pulling, "pull")
        batch.commit()
        assert pulling.result(timeout=10) == 1
    assert published(hotel, folio_id) == snapshot(hotel, folio_id)
    with unit(hotel) as uow:
        assert uow.ledger.publish_marked() == 0


def test_a_batch_marking_while_a_pull_publishes_leaves_its_mark(
    hotel: Hotel, folios: list[str]
) -> None:
    """The pull took the marks; a batch marking the folio then waits for the pull and leaves
    a new mark, so the next pull publishes its change (PostgreSQL: concurrent writers)."""
    if hotel.node.engine.dialect.name != "postgresql":
        return  # SQLite has one writer at a time: nothing runs meanwhile
    folio_id = folios[0]
    _marked(hotel, folio_id)
    with unit(hotel) as pull, ThreadPoolExecutor(1) as pool:
        assert pull.ledger.publish_marked() == 1

        def batch() -> None:
            with unit(hotel) as uow:
                apply(uow, folio_id, ("post", 0, 1_234))
                uow.ledger.mark([f"folio:{folio_id}"])
                uow.commit()

        marking = pool.submit(batch)
        wait_until_blocked(hotel.node.engine, marking, "batch")
        pull.commit()
        marking.result(timeout=10)
    with unit(hotel) as uow:
        assert uow.ledger.publish_marked() == 1
        uow.commit()
    assert published(hotel, folio_id) == snapshot(hotel, folio_id)


def test_held_folios_and_rooms_are_published_without_reading_them(
    hotel: Hotel, folios: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folios and a room read ahead (one folio posted to twice, one not; the room saved) are
    published from the unit of work's rows: no statement reads folios, folio_lines or rooms,
    and each document is its snapshot's (compared here, the suite's check being off)."""
    monkeypatch.setenv(CHECK_HELD, "0")
    grown, held_only, _ = folios
    room_id = next(iter(hotel.rooms.values()))
    with unit(hotel) as uow:
        keys = [f"folio:{grown}", f"folio:{held_only}", f"room:{room_id}"]
        uow.read_ahead(keys, to_publish=True)
        apply(uow, grown, ("post", 0, 1_500))
        apply(uow, grown, ("post", 0, 2_500))
        room = uow.rooms.get(room_id, for_update=True)
        uow.rooms.save(room.set_condition(Condition.CLEAN).stamped(STAMP))
        with reads(uow) as statements:
            uow.ledger.publish([f"folio:{grown}", f"folio:{held_only}", f"room:{room_id}"])
        uow.commit()
    assert read_tables(statements) == set()
    for folio_id in folios:
        assert published(hotel, folio_id) == snapshot(hotel, folio_id)
    with hotel.node.engine.connect() as conn:
        key = f"{hotel.property_id}/room:{room_id}"
        doc = conn.execute(sa.select(sync_feed.c.doc).where(sync_feed.c.key == key)).scalar()
        want = aggregates.snapshot(conn, f"room:{room_id}")
    assert doc == canonical.encode_plain(want).decode()


def test_a_folio_whose_header_changed_is_read_again(
    hotel: Hotel, folios: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folio held, then settled (its header written), is read again to publish."""
    monkeypatch.setenv(CHECK_HELD, "0")
    folio_id = folios[0]
    with unit(hotel) as uow:
        uow.read_ahead([f"folio:{folio_id}"], to_publish=True)
        apply(uow, folio_id, ("post", 0, 900))
        folio = uow.folios.get(folio_id)
        uow.folios.set_status(dataclasses.replace(folio, status=FolioStatus.SETTLED))
        with reads(uow) as statements:
            uow.ledger.publish([f"folio:{folio_id}"])
        uow.commit()
    assert read_tables(statements) >= {"folios"}
    assert published(hotel, folio_id) == snapshot(hotel, folio_id)


def test_the_suite_checks_held_documents_against_the_tables(
    hotel: Hotel, folios: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the suite's check on, a held document that is not the table's fails the publish;
    without it, nothing is read to compare."""
    folio_id = folios[0]
    wrong = {"kind": "charge", "amount": 1}

    def header_gone_wrong(self: object, ids: object) -> tuple[dict[str, object], dict[str, object]]:
        return {folio_id: [{"id": folio_id, **wrong}]}, {}

    monkeypatch.setattr("yadori.storage.repositories.folios.SqlFolios.held", header_gone_wrong)
    with unit(hotel) as uow, pytest.raises(HeldDocumentDiffers, match=f"folio:{folio_id}"):
        uow.ledger.publish([f"folio:{folio_id}"])
    monkeypatch.setenv(CHECK_HELD, "0")
    with unit(hotel) as uow, reads(uow) as statements:
        uow.ledger.publish([f"folio:{folio_id}"])
    assert "folios" not in read_tables(statements)


def test_a_held_folio_behind_its_document_is_grown_from_the_table(
    hotel: Hotel, folios: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push's earlier batch posted to a folio and only marked it; the last batch holds it
    (its count is not the document's) and posts again: the folio is grown by the lines after
    its document (read by position), not read whole, and its document is its snapshot's."""
    monkeypatch.setenv(CHECK_HELD, "0")
    folio_id = folios[0]
    with unit(hotel) as uow:  # an earlier batch: it only marks, so it counts no lines
        uow.read_ahead([f"folio:{folio_id}"])
        assert uow.folios.held([folio_id]) == ({}, {})
        apply(uow, folio_id, ("post", 0, 300))
        uow.ledger.mark(uow.touched())
        uow.commit()
    with unit(hotel) as uow:  # the last batch
        uow.read_ahead([f"folio:{folio_id}"], to_publish=True)
        apply(uow, folio_id, ("post", 0, 400))
        with reads(uow) as statements:
            assert uow.ledger.publish_marked(also=uow.touched()) == 1
        uow.commit()
    flat = [" ".join(s.split()).lower() for s in statements]
    lines_read = [s for s in flat if s.startswith("select") and "from folio_lines" in s]
    assert lines_read, statements
    assert all("position >" in s for s in lines_read if "count(" not in s), lines_read
    assert published(hotel, folio_id) == snapshot(hotel, folio_id)


def test_the_check_compares_bytes_not_values(hotel: Hotel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A held row equal to the table's in Python (False == 0) but not in its bytes fails."""
    room_id = next(iter(hotel.rooms.values()))
    with unit(hotel) as uow:
        row = aggregates.snapshot(uow.connection, f"room:{room_id}")["rooms"][0]
    assert row["stamp_priority"] == 0
    wrong = {**row, "stamp_priority": False}

    def held(self: object, ids: object) -> dict[str, dict[str, object]]:
        return {room_id: wrong}

    monkeypatch.setattr("yadori.storage.repositories.rooms.SqlRooms.held", held)
    with unit(hotel) as uow, pytest.raises(HeldDocumentDiffers, match="stamp_priority"):
        uow.ledger.publish([f"room:{room_id}"])
