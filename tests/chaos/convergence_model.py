"""A PostgreSQL central and SQLite edges in one process, linked by a faulty in-process link.

Used by test_convergence.py. Central is a real node on a PostgreSQL database cloned from the
test template (emptied for each cluster); each edge is a real node on its own SQLite file whose
sync worker talks to central's ``SyncServer`` through ``FaultyLink``: the calls the HTTP
transport makes (and the errors it raises), plus faults injected on demand — a request lost, an
answer lost, a batch delivered twice, a batch held back and delivered after a later one, a
damaged batch, a link cut. The checks compare every edge with central, every mutation with its
one result, and the folio lines with what the commands posted.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa

from support.hotel import ACTOR, Hotel, build_hotel
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.errors import DomainError
from yadori.services import commands as c
from yadori.storage import aggregates
from yadori.storage.checksums import ROOTS, property_checksums
from yadori.storage.engine import make_engine
from yadori.storage.migrate import upgrade
from yadori.storage.sync_server import SyncServer
from yadori.storage.tables import (
    conflict_tickets,
    folio_lines,
    metadata,
    outbox,
    rooms,
    sync_applied,
    sync_deferred,
)
from yadori.sync.canonical import JSON
from yadori.sync.errors import BatchRefused, LinkDown
from yadori.sync.protocol import BatchCorrupt, PageAsk
from yadori.sync.sync_ports import CycleReport, WorkerConfig
from yadori.sync.worker import SyncWorker

STATS: Counter[str] = Counter()
"""What the runs did (commands run and refused, results, faults), printed with ``-s``."""

PG_ADMIN = os.environ.get("YADORI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

FAULTS = (
    "none",
    "push:drop_request",  # lost on the way: central never sees the batch
    "push:drop_answer",  # central applied the batch, its answer is lost
    "push:duplicate",  # the batch reaches central twice
    "push:hold",  # the batch is delayed: it reaches central after the next one
    "push:corrupt",  # damaged bytes: refused by CRC, resent
    "pull:drop_request",  # the pull never reaches central
    "pull:drop_answer",  # central answered (results and changes), the answer is lost
)
QUIET_ROUNDS = 2
MAX_ROUNDS = 40


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


class Backends:
    """Databases for many runs: one PostgreSQL clone, emptied per run; migrated SQLite copies.

    Cloning and dropping a database per run costs most of a run, so central's database is
    cloned once from the migrated template and its tables are truncated before each run; edges
    get a fresh copy of one migrated SQLite file.
    """

    def __init__(self, template: str, tmp: Path) -> None:
        self.name = f"yadori_cv_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
        _admin(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off')  # speed, not safety
        base, _, _ = PG_ADMIN.rpartition("/")
        self.pg_url = f"{base}/{self.name}"
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self._edge_template = tmp / "edge-template.db"
        engine = make_engine(f"sqlite:///{self._edge_template}")
        upgrade(engine)
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
        self._runs = 0

    def central_url(self) -> str:
        """Central's database, emptied."""
        with psycopg.connect(self.pg_url, connect_timeout=3) as conn:
            for table in reversed(metadata.sorted_tables):  # children first
                conn.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 - our own table names
        return self.pg_url

    def edge_url(self, n: int) -> str:
        """A fresh migrated SQLite file for edge ``n`` of this run."""
        self._runs += 1
        path = self.tmp / f"run{self._runs}-e{n}.db"
        shutil.copyfile(self._edge_template, path)
        assert not Path(f"{self._edge_template}-wal").exists()
        return f"sqlite:///{path}"

    def close(self) -> None:
        """Drop central's database."""
        _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class FaultyLink:
    """An edge's transport to central, in process, with faults armed per call of a cycle.

    ``arm("push:<fault>", at)`` makes the ``at``-th push (0-based) of the next cycle suffer the
    fault, ``arm("pull:<fault>", at)`` the ``at``-th pull; ``cut`` makes every call fail. A
    held batch reaches central right after the next batch that does (or when the link is
    healed), as a delayed packet would.
    """

    def __init__(self, server: SyncServer, origin: str, properties: tuple[str, ...]) -> None:
        self.server = server
        self.origin = origin  # the node HTTP would have authenticated by its node token
        self.properties = properties
        self.cut = False
        self.held: list[tuple[bytes, int]] = []
        self.log: list[str] = []
        self._armed: tuple[str, int] | None = None
        self._calls = {"push": 0, "pull": 0}

    def arm(self, fault: str, at: int) -> None:
        """Make push (or pull) number ``at`` of the next cycle suffer ``fault``."""
        self._armed = None if fault == "none" else (fault, at)
        self._calls = {"push": 0, "pull": 0}

    def _fault(self, call: str) -> str:
        n = self._calls[call]
        self._calls[call] += 1
        if self._armed is None:
            return "none"
        fault, at = self._armed
        side, _, kind = fault.partition(":")
        return kind if side == call and at == n else "none"

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Send a batch to central (or not, as the fault says)."""
        return self._push(body, crc, None)

    def _push(self, body: bytes, crc: int, page: PageAsk | None) -> dict[str, JSON]:
        fault = self._fault("push")
        if self.cut:
            raise LinkDown("push: the link is cut")
        if fault == "drop_request":
            raise LinkDown("push: the request was lost")
        if fault == "hold":
            self.held.append((body, crc))
            raise LinkDown("push: the batch is held back (it will arrive late)")
        if fault == "corrupt":
            damaged = bytearray(body)
            damaged[len(damaged) // 2] ^= 0x5A
            body = bytes(damaged)
        answer = self._deliver(body, crc, page)
        if fault == "duplicate":
            answer = self._deliver(body, crc, page)
        self.release_held()
        if fault == "drop_answer":
            raise LinkDown("push: the answer was lost")
        return answer

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        """Ask central for a page (the answer may be lost on the way back)."""
        fault = self._fault("pull")
        if self.cut:
            raise LinkDown("pull: the link is cut")
        if fault == "drop_request":
            raise LinkDown("pull: the request was lost")
        answer = self.server.pull(
            str(params["origin"]),
            str(params["property"]),
            int(params["since"]),
            int(params["results_after"]),
            int(params["limit"]),
        )
        wire: dict[str, JSON] = json.loads(json.dumps(answer))
        if fault == "drop_answer":
            raise LinkDown("pull: the answer was lost after central sent it")
        return wire

    def release_held(self) -> None:
        """Deliver every held batch now (late, after whatever was sent since)."""
        held, self.held = self.held, []
        for body, crc in held:
            self.log.append("late delivery")
            self._deliver(body, crc)

    def _deliver(self, body: bytes, crc: int, page: PageAsk | None = None) -> dict[str, JSON]:
        try:
            answer = self.server.push(body, crc, self.origin, self.properties, page)
        except BatchCorrupt as exc:  # over HTTP: a 422 that HttpTransport raises as this
            raise BatchRefused(str(exc)) from exc
        wire: dict[str, JSON] = json.loads(json.dumps(answer))
        return wire


class RidingFaultyLink(FaultyLink):
    """The same link, whose pushes may also ask for the first pull page (decision 0049): the
    page rides back with the push's answer, and shares its faults (a dropped answer loses it)."""

    def push_pulling(self, body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        """Send a batch asking for a pull page too (or not, as the push's fault says)."""
        page = PageAsk(
            str(params["property"]),
            int(params["since"]),
            int(params["results_after"]),
            int(params["limit"]),
        )
        return self._push(body, crc, page)


@dataclass
class Posted:
    """A folio line a command created at some node (charge, payment or void)."""

    line_id: str
    folio_id: str
    node: int
    mutation_id: str
    kind: str
    voids: str | None = None


@dataclass
class Booking:
    """A reservation some node created."""

    id: str
    folio_id: str
    adults: int
    node: int


@dataclass
class Model:
    """What the test did: mutations per node, bookings, lines, commands refused."""

    mutations: dict[int, list[str]] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)
    lines: list[Posted] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)


class Cluster:
    """Central on PostgreSQL and ``n`` edges on SQLite, each with a faulty link and a worker."""

    def __init__(
        self,
        backends: Backends,
        edges: int,
        *,
        batch_size: int = 500,
        page_size: int = 2_000,
        riding: bool | None = None,
    ) -> None:
        """``riding``: whether edges ask for the first pull page with their last batch
        (decision 0049), as `yadori edge` does; None: the first edge does, the second not."""
        self.nodes: list[Yadori] = []
        self._riding = riding
        self.links: list[FaultyLink] = []
        self.workers: list[SyncWorker] = []
        self.model = Model()
        self._backends = backends
        self._sizes = WorkerConfig(batch_size=batch_size, page_size=page_size)
        try:
            central = bootstrap(NodeConfig("central", "central", "C", backends.central_url()))
            self.nodes.append(central)
            self.hotel: Hotel = build_hotel(central)
            with central.engine.connect() as conn:  # the hotel's setup, made at central
                self.model.mutations[0] = list(conn.execute(sa.select(outbox.c.id)).scalars())
            for _ in range(edges):
                self.add_edge()
            for worker in self.workers:  # each edge takes the hotel from central, cleanly
                worker.cycle()
        except BaseException:
            self.close()
            raise

    def add_edge(self) -> int:
        """Start one more edge, linked to central but not synced yet; its node number."""
        n = len(self.nodes)
        edge = bootstrap(
            NodeConfig(
                "edge",
                f"e{n}",
                f"E{n}",
                self._backends.edge_url(n),
                migrate=False,
                central_url="http://unused",
            )
        )
        self.nodes.append(edge)
        server, store, pid = self.central.sync_server, edge.edge_store, self.pid
        assert server is not None
        assert store is not None
        riding = n % 2 == 1 if self._riding is None else self._riding
        link = (RidingFaultyLink if riding else FaultyLink)(server, f"e{n}", (pid,))
        self.links.append(link)
        self.workers.append(
            SyncWorker(
                store,
                link,
                origin=f"e{n}",
                properties=lambda: [pid],
                hlc=edge.bus.hlc,
                now=lambda: datetime.now(UTC),
                config=self._sizes,
            )
        )
        return n

    @property
    def pid(self) -> str:
        """The hotel's property id."""
        return self.hotel.property_id

    @property
    def central(self) -> Yadori:
        """Node 0."""
        return self.nodes[0]

    def close(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.close()

    # --- commands -----------------------------------------------------------------------

    def run(self, node: int, command: c.Command) -> str | None:
        """Run a command at a node; the mutation id, or None when the domain refused it."""
        try:
            outcome = self.nodes[node].bus.execute(self.pid, command, ACTOR)
        except DomainError as exc:
            self.model.refused[f"{command.name}: {type(exc).__name__}"] += 1
            STATS[f"refused {command.name}: {type(exc).__name__} {exc}"[:110]] += 1
            return None
        STATS[f"ran {command.name} at {'central' if node == 0 else 'an edge'}"] += 1
        self.model.mutations.setdefault(node, []).append(outcome.mutation.id)
        return outcome.mutation.id

    def business_date(self, node: int) -> date:
        """The node's current business date."""
        return self.nodes[node].bus.read(self.pid, lambda uow: uow.properties.get().business_date)

    # --- sync -----------------------------------------------------------------------------

    def sync(self, edge: int, fault: str = "none", at: int = 0) -> CycleReport | None:
        """One sync cycle of an edge (1-based) with a fault armed; None when it failed."""
        link = self.links[edge - 1]
        link.arm(fault, at)
        cut = " (cut)" if link.cut else ""
        try:
            report = self.workers[edge - 1].cycle()
        except (LinkDown, BatchRefused) as exc:
            STATS[f"sync {fault}@{at}{cut}: {type(exc).__name__}"] += 1
            return None
        finally:
            link.arm("none", 0)
        STATS[f"sync {fault}@{at}{cut}: ok"] += 1
        return report

    def resolve_tickets(self) -> int:
        """Staff resolve every open ticket at an edge, every other one at central too."""
        tickets = self.tickets_at(0)
        edges = len(self.nodes) - 1
        for k, ticket in enumerate(tickets):
            nodes = (1 + k % edges, 0) if k % 2 else (1 + k % edges,)
            for node in nodes:
                self.run(node, c.ResolveTicket(ticket_id=ticket, resolution=f"done at {node}"))
        return len(tickets)

    def has_unsent(self, edge: int) -> bool:
        """Whether the edge has mutations waiting to be pushed."""
        store = self.nodes[edge].edge_store
        assert store is not None
        return store.has_unsent()

    def heal_and_settle(self) -> int:
        """Heal every link, deliver late batches, cycle until two quiet rounds; rounds taken."""
        for link in self.links:
            link.cut = False
            link.release_held()
        quiet = 0
        for rounds in range(1, MAX_ROUNDS + 1):
            reports = [w.cycle() for w in self.workers]
            busy = any(r.pushed or r.pulled_changes or r.results for r in reports)
            quiet = 0 if busy else quiet + 1
            if quiet >= QUIET_ROUNDS:
                STATS[f"settled in {rounds} rounds"] += 1
                return rounds
        raise AssertionError(f"still syncing after {MAX_ROUNDS} clean rounds")

    # --- looking at nodes -------------------------------------------------------------------

    def lines_at(self, node: int) -> list[str]:
        """Every folio line id at a node (with repeats, were there any)."""
        with self.nodes[node].engine.connect() as conn:
            return list(conn.execute(sa.select(folio_lines.c.id)).scalars())

    def applied_count(self) -> int:
        """Rows in central's ledger of applied mutations."""
        with self.central.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(sync_applied)).scalar_one()
            )

    def outbox_states(self, edge: int) -> dict[str, int]:
        """How many of an edge's mutations are in each state."""
        with self.nodes[edge].engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
            ).all()
        return {state: int(n) for state, n in rows}

    def tickets_at(self, node: int) -> list[str]:
        """Ids of the open conflict tickets at a node, oldest first."""
        with self.nodes[node].engine.connect() as conn:
            query = (
                sa.select(conflict_tickets.c.id)
                .where(conflict_tickets.c.status == "open")
                .order_by(conflict_tickets.c.opened_at, conflict_tickets.c.id)
            )
            return list(conn.execute(query).scalars())

    def room_condition(self, node: int, room_id: str) -> str:
        """A room's housekeeping condition at a node."""
        with self.nodes[node].engine.connect() as conn:
            query = sa.select(rooms.c.condition).where(rooms.c.id == room_id)
            return str(conn.execute(query).scalar_one())

    def open_tickets(self, node: int) -> int:
        """Open conflict tickets at a node."""
        with self.nodes[node].engine.connect() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(conflict_tickets)
                .where(conflict_tickets.c.status == "open")
            )
            return int(conn.execute(query).scalar_one())

    # --- checks ---------------------------------------------------------------------------

    def check_converged(self) -> None:
        """Every edge holds exactly central's data (per-table counts and CRC32s, then docs)."""
        expected = self._sums(0)
        for n in range(1, len(self.nodes)):
            got = self._sums(n)
            if got != expected:
                raise AssertionError(
                    f"edge e{n} differs from central:\n{self._doc_diff(n)}\n"
                    f"central {expected}\nedge    {got}"
                )
            with self.nodes[n].engine.connect() as conn:
                kept = conn.execute(sa.select(sync_deferred.c.key)).scalars().all()
            assert not kept, f"edge e{n} still keeps pulled documents aside: {kept}"

    def _sums(self, n: int) -> list[object]:
        with self.nodes[n].engine.connect() as conn:
            return list(property_checksums(conn, self.pid))

    def _docs(self, n: int) -> dict[str, object]:
        docs: dict[str, object] = {}
        with self.nodes[n].engine.connect() as conn:
            for kind, root in ROOTS.items():
                column = root.c.id if kind == "property" else root.c.property_id
                for ident in conn.execute(sa.select(root.c.id).where(column == self.pid)).scalars():
                    docs[f"{kind}:{ident}"] = aggregates.snapshot(conn, f"{kind}:{ident}")
        return docs

    def _doc_diff(self, n: int) -> str:
        central, edge = self._docs(0), self._docs(n)
        out = []
        for key in sorted(central.keys() | edge.keys()):
            if central.get(key) != edge.get(key):
                out.append(f"  {key}:\n    central {central.get(key)}\n    edge    {edge.get(key)}")
        return "\n".join(out)

    def check_results(self) -> dict[str, str]:
        """Each edge mutation is done with exactly central's one result; none lost or extra.

        Returns "result|reason" by mutation id, edge by edge in sequence order.
        """
        results: dict[str, str] = {}
        with self.central.engine.connect() as conn:
            applied = conn.execute(
                sa.select(
                    sync_applied.c.origin,
                    sync_applied.c.seq,
                    sync_applied.c.mutation_id,
                    sync_applied.c.result,
                    sync_applied.c.reason,
                    sync_applied.c.tickets,
                )
            ).all()
            tickets = set(conn.execute(sa.select(conflict_tickets.c.id)).scalars())
            central_outbox = set(conn.execute(sa.select(outbox.c.id)).scalars())
        assert central_outbox == set(self.model.mutations.get(0, [])), "central's outbox differs"
        ledger = {(r.origin, r.seq): r for r in applied}
        assert len(ledger) == len(applied)
        assert len({r.mutation_id for r in applied}) == len(applied), "a mutation applied twice"
        named = {t for r in applied for t in json.loads(r.tickets)}
        assert named <= tickets, f"results name tickets central does not hold: {named - tickets}"
        assert all(r.result == "conflict" for r in applied if json.loads(r.tickets))
        origins = {f"e{n}" for n in range(1, len(self.nodes))}
        assert {r.origin for r in applied} <= origins, "a result for an unknown origin"
        for n in range(1, len(self.nodes)):
            with self.nodes[n].engine.connect() as conn:
                rows = conn.execute(
                    sa.select(outbox.c.seq, outbox.c.id, outbox.c.state, outbox.c.result).order_by(
                        outbox.c.seq
                    )
                ).all()
            assert {r.id for r in rows} == set(self.model.mutations.get(n, [])), (
                f"edge e{n}: the outbox is not the mutations its commands made"
            )
            mine = {seq: r for (origin, seq), r in ledger.items() if origin == f"e{n}"}
            assert set(mine) == {r.seq for r in rows}, (
                f"edge e{n}: central has results for seqs {sorted(set(mine))}, "
                f"the outbox holds {sorted(r.seq for r in rows)}"
            )
            for r in rows:
                central = mine[r.seq]
                assert r.state == "done", f"e{n} seq {r.seq} is {r.state}"
                assert central.mutation_id == r.id, f"e{n} seq {r.seq}: another mutation's result"
                assert r.result == central.result, f"e{n} seq {r.seq}: {r.result} != {central}"
                results[r.id] = f"{central.result}|{central.reason}"
                STATS[f"result {central.result}"] += 1
        return results

    def check_lines(self, results: dict[str, str]) -> None:
        """Posted lines are at central once each, exactly those whose mutation was kept."""
        expected = set()
        for line in self.model.lines:
            if line.node != 0:
                result, _, reason = results[line.mutation_id].partition("|")
                if result == "rejected" or "already_voided" in reason:
                    continue
            expected.add(line.line_id)
        posted = {line.line_id for line in self.model.lines}
        with self.central.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    folio_lines.c.id,
                    folio_lines.c.folio_id,
                    folio_lines.c.category,
                    folio_lines.c.night,
                    folio_lines.c.description,
                    folio_lines.c.voids,
                )
            ).all()
            positions = conn.execute(
                sa.select(folio_lines.c.folio_id, folio_lines.c.position)
            ).all()
        assert len(positions) == len(set(positions)), "two lines share a folio position"
        found = [r.id for r in rows if r.id in posted]
        assert len(found) == len(set(found)), "a posted line is there twice"
        missing, extra = expected - set(found), set(found) - expected
        assert not missing, f"posted lines missing at central: {missing}"
        assert not extra, f"lines at central whose mutation was not kept: {extra}"
        voided = Counter(r.voids for r in rows if r.voids is not None)
        twice = [line for line, k in voided.items() if k > 1]
        assert not twice, f"lines voided twice: {twice}"
        nights = Counter(
            (r.folio_id, r.category, r.night, r.description)
            for r in rows
            if r.night is not None and r.voids is None
        )
        doubled = [k for k, v in nights.items() if v > 1]
        assert not doubled, f"a night charged twice: {doubled}"
