"""An edge restored from a backup reuses sequence numbers: its new work must not be lost.

Central keeps one result per (origin, seq). An edge put back to a backup taken before its
last syncs numbers its new operations with seqs it had already sent for others. Central used to
answer them with the old operations' results: they were never applied, stayed queued at the
edge for good, and nothing said so (found in review, 2026-11-30). Now central answers
``seq_taken`` and records nothing, and the edge numbers them again after central's highest seq
and sends them again (decision 0059). Central runs as a process on PostgreSQL and the edge
talks to it over HTTP; the backup is SQLite's own, as docs/operations.md tells IT to take it.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.auth import trust_actor
from support.hotel import ACTOR, Hotel, build_hotel
from support.nodes import central_process, edge_node
from support.sync import checksums, sync, worker_on
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.services.sync_apply import CentralSync
from yadori.services.sync_ports import LedgerEntry
from yadori.storage.checksums import TableSum
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.storage.engine import make_engine
from yadori.storage.tables import outbox, sync_applied
from yadori.sync.canonical import JSON
from yadori.sync.mutation import Mutation, make_mutation
from yadori.sync.protocol import SEQ_TAKEN, BatchItem

pytestmark = pytest.mark.postgres
FIELDS = ("id", "origin", "seq", "hlc", "name", "args", "deps", "priority", "actor")


def charge(hotel: Hotel, folio_id: str, amount: int) -> str:
    """Post a charge at the hotel's node; its mutation's id."""
    cmd = c.PostCharge(
        folio_id=folio_id, line_id=new_id(), category="misc", description="desk", amount=amount
    )
    mutation = hotel.run(cmd).mutation
    assert mutation is not None
    return mutation.id


def backup(source: Path, target: Path) -> None:
    """SQLite's online backup of a running edge's database."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def restore(backup_file: Path, database: Path) -> None:
    """Put the backup in place of the edge's database (its WAL files gone with the old one)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    backup(backup_file, database)


def at_central(pg_url: str, property_id: str) -> tuple[dict[str, int], list[TableSum]]:
    """Central's recorded seq of each of edge1's mutations, and the hotel's checksums."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            query = sa.select(sync_applied.c.mutation_id, sync_applied.c.seq).where(
                sync_applied.c.origin == "edge1"
            )
            recorded = {str(m): int(seq) for m, seq in conn.execute(query)}
        return recorded, checksums(engine, property_id)
    finally:
        engine.dispose()


def assert_told_once(store: EdgeSyncStore, told: queue.Queue[dict[str, JSON]]) -> None:
    """One seq_taken alert, recorded and on the staff banner, for the two operations."""
    alerts = [a for a in store.alerts() if a["kind"] == SEQ_TAKEN]
    assert len(alerts) == 1
    assert "2 queued operation(s)" in str(alerts[0]["message"])
    banner = [e["data"] for e in list(told.queue) if e["event"] == "alert"]
    assert [d["kind"] for d in banner if isinstance(d, dict)] == [SEQ_TAKEN]


def seeded(pg_url: str) -> tuple[Hotel, str]:
    """Central's database with the small hotel and a booking: the hotel, the booking's folio."""
    seed = bootstrap(NodeConfig("central", "central", "C", pg_url))
    try:
        hotel = build_hotel(seed)
        return hotel, hotel.folio_id(hotel.book())
    finally:
        seed.close()


def test_an_edge_restored_from_a_backup_loses_none_of_its_new_work(
    pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Backup, three charges synced, restore, two new charges: all five and the two earlier
    reach central, the new ones under new seqs, the edge says so once and converges."""
    caplog.set_level(logging.ERROR, logger="yadori.sync")
    hotel, folio = seeded(pg_url)
    with central_process(pg_url, tmp_path) as central:
        pid = hotel.property_id
        edge = edge_node(tmp_path, central.url, (pid,))
        at_edge = dataclasses.replace(hotel, node=edge)
        try:
            sync(edge)
            early = [charge(at_edge, folio, amount) for amount in (100, 200)]
            sync(edge)
            backup(tmp_path / "edge1.db", tmp_path / "backup.db")
            lost_locally = [charge(at_edge, folio, amount) for amount in (300, 400, 500)]
            sync(edge)
        finally:
            edge.close()
        restore(tmp_path / "backup.db", tmp_path / "edge1.db")  # the disk died; IT restores

        edge = edge_node(tmp_path, central.url, (pid,))
        at_edge = dataclasses.replace(hotel, node=edge)
        try:
            told = edge.events.subscribe()
            new = [charge(at_edge, folio, amount) for amount in (7_777, 8_888)]
            with edge.engine.connect() as conn:
                reused = dict(conn.execute(sa.select(outbox.c.id, outbox.c.seq)).all())
            sync(edge)  # central answers seq_taken; the edge numbers them again and sends them
            sync(edge)
            recorded, want = at_central(pg_url, pid)
            assert set(early + lost_locally + new) <= set(recorded)
            assert all(recorded[m] > max(recorded[o] for o in lost_locally) for m in new)
            assert all(recorded[m] != reused[m] for m in new)
            lines = edge.bus.read(pid, lambda uow: uow.folios.get(folio).lines)
            assert sorted(line.amount for line in lines) == [100, 200, 300, 400, 500, 7_777, 8_888]
            assert checksums(edge.engine, pid) == want
            assert edge.edge_store is not None
            assert edge.edge_store.pending_count() == 0
            assert_told_once(edge.edge_store, told)
        finally:
            edge.close()
        assert "ESCALATION seq_taken: edge1 sent 2 mutation(s)" in central.log.read_text()


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclasses.dataclass
class Applied:
    """Central in process, and a charge an edge made that central applied (with its set-up)."""

    central: Yadori
    sync: CentralSync
    property_id: str
    folio: str
    held: Mutation  # the charge, recorded at its seq


@pytest.fixture
def applied(pg_url: str, tmp_path: Path) -> Iterator[Applied]:
    """An edge's hotel and a ¥100 charge, all applied by central's sync service in process."""
    central = bootstrap(NodeConfig("central", "central", "C", pg_url))
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    try:
        hotel = build_hotel(edge)
        trust_actor(central, hotel.property_id, ACTOR)
        folio = hotel.folio_id(hotel.book())
        first = charge(hotel, folio, 100)
        made = edge.bus.read(hotel.property_id, lambda uow: uow.outbox.all())
        sync_ = CentralSync(central.bus, _Clock())
        items = tuple(BatchItem(hotel.property_id, m, ()) for m in made)
        assert {r.result for r in sync_.apply(items)} == {"applied"}
        held = next(m for m in made if m.id == first)
        yield Applied(central, sync_, hotel.property_id, folio, held)
    finally:
        edge.close()
        central.close()


def _pushed(at: Applied, mutation: Mutation) -> LedgerEntry:
    (answer,) = at.sync.apply((BatchItem(at.property_id, mutation, ()),))
    return answer


def _amounts(at: Applied) -> list[int]:
    lines = at.central.bus.read(at.property_id, lambda uow: uow.folios.get(at.folio).lines)
    return [line.amount for line in lines]


def test_central_answers_a_reused_seq_as_taken_and_records_nothing(applied: Applied) -> None:
    """In process: the mutation that reuses a seq is neither applied nor recorded, and the
    result answered names it; the mutation that holds the seq keeps its result."""
    held = applied.held
    impostor = make_mutation(  # the same seq, another mutation
        **{f: getattr(held, f) for f in FIELDS if f != "id"}, id=new_id()
    )
    answer = _pushed(applied, impostor)
    assert (answer.mutation_id, answer.seq, answer.result) == (impostor.id, held.seq, SEQ_TAKEN)
    assert f"holds sequence {held.seq} of e1 for mutation {held.id}" in answer.reason
    again = _pushed(applied, held)
    assert (again.mutation_id, again.result) == (held.id, "applied")
    assert _amounts(applied) == [100]


@pytest.mark.parametrize("batch_size", [500, 1], ids=["one batch", "a batch each"])
def test_what_depends_on_a_renumbered_mutation_waits_for_it(
    pg_url: str, tmp_path: Path, batch_size: int
) -> None:
    """After the restore, a charge takes a seq central holds and its void a free one. The void
    must not be applied before its charge (it would be refused, the guest overbilled): in one
    batch central holds it back as well; in a batch of its own, read while the charge's was at
    central, the edge does not send it but chooses again once the charge is numbered again."""
    hotel, folio = seeded(pg_url)
    with central_process(pg_url, tmp_path) as central:
        pid = hotel.property_id
        edge = edge_node(tmp_path, central.url, (pid,))
        try:
            sync(edge)
            backup(tmp_path / "edge1.db", tmp_path / "backup.db")
            charge(dataclasses.replace(hotel, node=edge), folio, 300)  # then lost at the edge
            sync(edge)
        finally:
            edge.close()
        restore(tmp_path / "backup.db", tmp_path / "edge1.db")
        edge = edge_node(tmp_path, central.url, (pid,))
        try:
            at_edge = dataclasses.replace(hotel, node=edge)
            line = new_id()
            at_edge.run(
                c.PostCharge(
                    folio_id=folio, line_id=line, category="misc", description="x", amount=999
                )
            )
            void = c.VoidLine(folio_id=folio, line_id=line, void_line_id=new_id(), reason="typo")
            at_edge.run(void)
            assert edge.transport is not None
            worker = worker_on(edge, edge.transport, batch_size=batch_size)
            for _ in range(2):
                report = worker.cycle()
                assert report.rejected == 0, report
            with edge.engine.connect() as conn:
                outcome = dict(conn.execute(sa.select(outbox.c.name, outbox.c.result)).all())
            assert outcome["void_line"] == "applied"
            _, want = at_central(pg_url, pid)
            assert checksums(edge.engine, pid) == want  # central holds the charge and its void
            lines = edge.bus.read(pid, lambda uow: uow.folios.get(folio).lines)
            assert sorted(line.amount for line in lines) == [300, 999, 999]
            assert [x.voids for x in lines if x.voids is not None] == [line]
        finally:
            edge.close()


def test_a_mutation_central_holds_at_another_seq_is_answered_its_result(
    applied: Applied,
) -> None:
    """Numbered again once, applied, then the edge put back to a backup from before: the same
    mutation comes under its old seq (now another's) or under a free one. Central answers the
    result it recorded for it, and applies nothing twice."""
    held = applied.held
    fields = {f: getattr(held, f) for f in FIELDS if f != "seq"}
    for seq in (held.seq - 1, held.seq + 50):  # another's seq; a free one
        answer = _pushed(applied, make_mutation(**fields, seq=seq))
        assert (answer.mutation_id, answer.seq, answer.result) == (held.id, held.seq, "applied")
    assert _amounts(applied) == [100]
