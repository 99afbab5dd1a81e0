"""Sync benchmarks: recovery after an outage, one push batch, link cut and link back.

Central is a real `yadori central` process on PostgreSQL (a throwaway database per run); the
edge runs in process on its own SQLite file with the production settings and talks to central
over HTTP on loopback. The hotel has 300 rooms: 150 guests in house since yesterday, 140
arrivals today. Seeded once at central (then ANALYZEd, as autovacuum would have) and pulled by
an edge, which then works "offline" (its worker is simply not run) through a realistic mix —
check-ins with the guest registry, charges, payments, housekeeping, some bookings. Snapshots of
that edge (after 1,000 and after 20,000 mutations) and copies of central's database are used
for every run, so each run starts from the same state.

- Recovery sync (R-PERF-4): ``edge.worker.cycle()`` until nothing is pending, timed (median of
  3 for 1,000; one run for 20,000, which takes about a minute); central's share is the time
  spent inside the push and pull HTTP calls, the rest is the edge's own work.
- One push batch of 100 mutations acknowledged (R-PERF-2): push and the pull that brings the
  results, p95 over 32 batches.
- Link cut → offline and link back → sync started (R-PERF-3, R-PERF-4): the real Monitor at
  its default Timing, through the TCP fault proxy, 20 cuts (connections refused) and 10 hangs
  (a black hole). Each outage starts at a random phase of the normal heartbeat: the minute of
  heightened monitoring after each recovery is skipped by advancing the monitor's clock.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import random
import resource
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import calibration
import psycopg
from calibration import Ingest
from results import Metric, median, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests dir, for support/

from support.auth import trust_actor
from support.nodes import central_process, proxy_to
from yadori.bootstrap import NodeConfig, Yadori, bootstrap, tune_gc
from yadori.cli.demo_hotel import guests_for
from yadori.cli.enrol import enroll, enrolment_token
from yadori.domain.errors import DomainError
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.sync.canonical import JSON
from yadori.sync.connectivity import Timing
from yadori.sync.errors import SyncError
from yadori.sync.monitor import Monitor
from yadori.sync.mutation import Actor

PG_ADMIN = os.environ.get("YADORI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TODAY = date(2026, 12, 1)
YESTERDAY = TODAY - timedelta(days=1)
ACTOR = Actor("bench-staff", "bench-token")
HOUR = timedelta(hours=1)
ROOM_TYPES = (("STD", 200, 2, 14_300), ("TWN", 80, 3, 19_800), ("STE", 20, 4, 49_500))
IN_HOUSE = 150  # rooms 0..149: guests since yesterday
ARRIVALS = 140  # rooms 150..289: arrivals today, rooms assigned
SMALL, LARGE = 1_000, 20_000
RUNS_SMALL, RUNS_LARGE = 3, 1
BATCHES = 32
CUTS = 20
HANGS = 10
NEXT_CONDITION = {
    Condition.DIRTY: Condition.CLEAN,
    Condition.CLEAN: Condition.INSPECTED,
    Condition.INSPECTED: Condition.DIRTY,
}


# --- PostgreSQL databases ---------------------------------------------------------------------


def _pg_url(database: str) -> str:
    return f"{PG_ADMIN.rpartition('/')[0]}/{database}"


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@contextlib.contextmanager
def database(template: str | None = None) -> Iterator[str]:
    """A throwaway PostgreSQL database (a copy of ``template`` if given), dropped afterwards."""
    name = f"yadori_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_sqlite(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite database (its WAL included), by the backup API."""
    target.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    return target


# --- the hotel --------------------------------------------------------------------------------


@dataclass
class Stay:
    """A reservation the day can work with."""

    reservation_id: str
    folio_id: str
    room_id: str
    guest_name: str
    adults: int


@dataclass
class HotelIds:
    """What the seed made (the edge learns the same ids by pulling)."""

    property_id: str
    room_types: dict[str, str]
    plan: str
    rooms: list[str]
    in_house: list[Stay]
    arrivals: list[Stay]


def seed_hotel(node: Yadori, rng: random.Random) -> HotelIds:
    """A 300-room hotel: 150 guests checked in yesterday, yesterday closed, 140 arrivals."""
    pid = new_id()

    def run(cmd: c.Command) -> object:
        return node.bus.execute(pid, cmd, ACTOR).result

    run(
        c.CreateProperty(
            property_id=pid, code="BSYN", name_ja="同期", name_en="Sync", business_date=YESTERDAY
        )
    )
    types = {code: new_id() for code, *_ in ROOM_TYPES}
    rooms: list[tuple[str, str, int]] = []  # (room id, type code, occupancy)
    for code, count, occupancy, _ in ROOM_TYPES:
        run(
            c.CreateRoomType(
                room_type_id=types[code],
                code=code,
                name_ja=code,
                name_en=code,
                max_occupancy=occupancy,
            )
        )
        rooms.extend((new_id(), code, occupancy) for _ in range(count))
    rng.shuffle(rooms)  # types mixed over the floors
    for n, (room_id, code, _) in enumerate(rooms):
        floor = 2 + n // 20
        number = f"{floor}{n % 20 + 1:02d}"
        run(c.CreateRoom(room_id=room_id, number=number, room_type_id=types[code], floor=floor))
    plan = new_id()
    run(
        c.CreateRatePlan(
            rate_plan_id=plan,
            code="BAR",
            name_ja="基本",
            name_en="Base",
            prices=tuple(c.Price(types[code], price) for code, _, _, price in ROOM_TYPES),
        )
    )

    def book(room: tuple[str, str, int], arrival: date, nights: int) -> Stay:
        room_id, code, occupancy = room
        stay = Stay(new_id(), new_id(), room_id, _name(rng), rng.randint(1, min(2, occupancy)))
        run(
            c.CreateReservation(
                reservation_id=stay.reservation_id,
                folio_id=stay.folio_id,
                guest_name=stay.guest_name,
                arrival=arrival,
                departure=arrival + timedelta(days=nights),
                adults=stay.adults,
                room_type_id=types[code],
                rate_plan_id=plan,
                room_id=room_id,
            )
        )
        return stay

    in_house = [book(room, YESTERDAY, rng.randint(2, 4)) for room in rooms[:IN_HOUSE]]
    for stay in in_house:
        run(
            c.CheckIn(
                reservation_id=stay.reservation_id,
                room_id=stay.room_id,
                guests=guests_for(stay.guest_name, stay.adults, rng),
            )
        )
    run(c.CloseBusinessDay(business_date=YESTERDAY))
    arrivals = [
        book(room, TODAY, rng.randint(1, 3)) for room in rooms[IN_HOUSE : IN_HOUSE + ARRIVALS]
    ]
    return HotelIds(pid, types, plan, [r[0] for r in rooms], in_house, arrivals)


def _name(rng: random.Random) -> str:
    family = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村")
    given = ("太郎", "花子", "健", "美咲", "翔", "陽菜")
    if rng.random() < 0.25:
        return rng.choice(("Emma Wilson", "Liam Chen", "Sofia Rossi", "Noah Müller"))
    return f"{rng.choice(family)} {rng.choice(given)}"


@dataclass
class Day:
    """A front desk's day at the edge: each ``step`` runs one command (one mutation)."""

    node: Yadori
    hotel: HotelIds
    rng: random.Random
    arrivals: list[Stay] = field(default_factory=list)
    folios: list[str] = field(default_factory=list)
    conditions: dict[str, Condition] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)  # ms per bus.execute

    def __post_init__(self) -> None:
        self.arrivals = list(self.hotel.arrivals)
        self.folios = [s.folio_id for s in self.hotel.in_house]
        # housekeeping works on the stay-over rooms and the 10 spare ones, never on a room an
        # arrival is waiting for (a dirty room cannot be checked in to)
        spare = self.hotel.rooms[IN_HOUSE + ARRIVALS :]
        now = {
            r.id: r.condition
            for r in self.node.bus.read(self.hotel.property_id, lambda uow: uow.rooms.list())
        }
        for room in [s.room_id for s in self.hotel.in_house] + spare:
            self.conditions[room] = now[room]

    def run(self, count: int) -> None:
        """Make ``count`` mutations."""
        done = 0
        while done < count:
            done += self.step()

    def step(self) -> int:
        """One command of the mix; 1 if it made a mutation (a sold-out booking makes none)."""
        roll = self.rng.random()
        if roll < 0.07 and self.arrivals:
            return self.check_in()
        if roll < 0.13:
            return self.book()
        if roll < 0.63:
            return self.charge()
        if roll < 0.78:
            return self.pay()
        return self.housekeeping()

    def _exec(self, cmd: c.Command) -> int:
        started = time.perf_counter_ns()
        self.node.bus.execute(self.hotel.property_id, cmd, ACTOR)
        self.samples.append((time.perf_counter_ns() - started) / 1e6)
        self.made[cmd.name] = self.made.get(cmd.name, 0) + 1
        return 1

    def check_in(self) -> int:
        """Check an arrival in, with the registry."""
        stay = self.arrivals.pop()
        guests = guests_for(stay.guest_name, stay.adults, self.rng)
        self.folios.append(stay.folio_id)
        return self._exec(
            c.CheckIn(reservation_id=stay.reservation_id, room_id=stay.room_id, guests=guests)
        )

    def book(self) -> int:
        """A booking for a later date (none if sold out)."""
        code, *_ = self.rng.choices(ROOM_TYPES, weights=[200, 80, 20])[0]
        arrival = TODAY + timedelta(days=self.rng.randint(3, 90))
        try:
            return self._exec(
                c.CreateReservation(
                    reservation_id=new_id(),
                    folio_id=new_id(),
                    guest_name=_name(self.rng),
                    arrival=arrival,
                    departure=arrival + timedelta(days=self.rng.choice((1, 1, 2, 3))),
                    adults=self.rng.randint(1, 2),
                    room_type_id=self.hotel.room_types[code],
                    rate_plan_id=self.hotel.plan,
                )
            )
        except DomainError:
            return 0  # sold out that night: no mutation

    def charge(self) -> int:
        """A room-service, minibar or misc charge."""
        category = self.rng.choice(("room_service", "minibar", "misc"))
        return self._exec(
            c.PostCharge(
                folio_id=self.rng.choice(self.folios),
                line_id=new_id(),
                category=category,
                description=category.replace("_", " "),
                amount=self.rng.randrange(300, 8_000, 10),
            )
        )

    def pay(self) -> int:
        """A cash payment."""
        return self._exec(
            c.PostPayment(
                folio_id=self.rng.choice(self.folios),
                line_id=new_id(),
                method="cash",
                amount=self.rng.randrange(1_000, 30_000, 100),
            )
        )

    def housekeeping(self) -> int:
        """The next condition of a room: dirty, clean, inspected."""
        room = self.rng.choice(list(self.conditions))
        self.conditions[room] = NEXT_CONDITION[self.conditions[room]]
        return self._exec(c.SetRoomCondition(room_id=room, condition=self.conditions[room]))


# --- fixtures: a seeded central, an edge that pulled it ---------------------------------------


@dataclass
class World:
    """The seeded central database (a template) and the edge snapshots."""

    template: str
    hotel: HotelIds
    snapshots: dict[int, Path]
    made: dict[int, dict[str, int]]


def edge_at(path: Path, central_url: str, pid: str, synchronous: str = "FULL") -> Yadori:
    """An edge in process on ``path`` syncing with central_url (its monitor not started)."""
    node = bootstrap(
        NodeConfig(
            "edge",
            "edge1",
            "E1",
            f"sqlite:///{path}",
            sqlite_synchronous=synchronous,
            central_url=central_url,
            properties=(pid,),
            key_dir=str(path.parent / "keys" / "edge1"),  # enrolled once, by build_world
        )
    )
    _tune_gc_once()
    return node


@functools.cache
def _tune_gc_once() -> None:
    """The collector tuned as `yadori edge` tunes it at start, once for the process (each call
    freezes what is alive then, for good)."""
    tune_gc()


def build_world(workdir: Path, template: str, sizes: tuple[int, ...]) -> World:
    """Seed central in ``template``, pull it to an edge, work offline; snapshot at ``sizes``."""
    rng = random.Random(20261201)
    node = bootstrap(NodeConfig("central", "central", "C", _pg_url(template)))
    hotel = seed_hotel(node, rng)
    trust_actor(node, hotel.property_id, ACTOR)  # the edge's commands run as ACTOR
    node.close()
    # A central that has run for a while has planner statistics (autovacuum analyses it); a
    # database seeded a second ago has none, and PostgreSQL then picks nested-loop plans that
    # make the replay several times slower. Analyse once, as autovacuum would have.
    with psycopg.connect(_pg_url(template), autocommit=True) as conn:
        conn.execute("ANALYZE")
    snapshots: dict[int, Path] = {}
    made: dict[int, dict[str, int]] = {}
    with central_process(_pg_url(template), workdir) as central:
        token, _ = enrolment_token(_pg_url(template), "edge1", (hotel.property_id,), HOUR)
        gen_db = f"sqlite:///{workdir / 'edge-gen.db'}"
        enroll("edge1", workdir / "keys" / "edge1", gen_db, central.url, token)
        # generating the day is not timed: synchronous=NORMAL only makes the set-up quicker
        edge = edge_at(workdir / "edge-gen.db", central.url, hotel.property_id, "NORMAL")
        try:
            assert edge.worker is not None
            edge.worker.cycle()  # pull the hotel
            day = Day(edge, hotel, rng)
            done = 0
            for size in sorted(sizes):
                day.run(size - done)
                done = size
                snapshots[size] = copy_sqlite(workdir / "edge-gen.db", workdir / f"edge-{size}.db")
                made[size] = dict(day.made)
        finally:
            edge.close()
    return World(template, hotel, snapshots, made)


# --- recovery sync ----------------------------------------------------------------------------


@dataclass
class Timed:
    """Seconds spent inside the HTTP calls to central (central's work plus the wire)."""

    seconds: float = 0.0

    def wrap(self, call: Callable[..., object]) -> Callable[..., object]:
        """Time every call of ``call``."""

        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


@dataclass(frozen=True)
class Recovery:
    """One recovery sync."""

    seconds: float
    central_seconds: float
    drained: Drained
    cpu: CpuSeconds | None  # None where /proc cannot be read


@dataclass(frozen=True)
class CpuSeconds:
    """CPU seconds (user + system) each party spent during a sync.

    Edge and central share this machine's cores in the benchmark: their sum over the core
    count is the least wall time any overlap of their work could reach here.
    """

    edge: float  # this process: the in-process edge, its sender and puller threads
    central: float
    postgres: float  # every PostgreSQL server process

    @property
    def total(self) -> float:
        """All three."""
        return self.edge + self.central + self.postgres

    @property
    def floor(self) -> float:
        """The total spread over every core: no schedule of this work finishes sooner."""
        return self.total / _cores()


def _cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def _cpu_of(pid: int | str) -> float:
    """A process's CPU seconds so far, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server processes alive now (central's pooled backends stay
    for the whole run; a backend that exits during it takes its seconds along, so the sum is a
    lower bound, and it counts every database's backends: nothing else runs during a bench)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().startswith("postgres"):
                total += _cpu_of(comm.parent.name)
    return total


def cpu_now(central_pid: int) -> CpuSeconds | None:
    """The CPU seconds spent so far by the edge (this process), central and PostgreSQL."""
    if not Path("/proc/self/stat").exists():
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSeconds(usage.ru_utime + usage.ru_stime, _cpu_of(central_pid), _postgres_cpu())


def cpu_since(before: CpuSeconds | None, central_pid: int) -> CpuSeconds | None:
    """What each party spent since ``before``."""
    after = cpu_now(central_pid)
    if before is None or after is None:
        return None
    return CpuSeconds(
        after.edge - before.edge,
        after.central - before.central,
        after.postgres - before.postgres,
    )


@dataclass
class Drained:
    """What the cycles of one sync did."""

    pushed: int = 0
    rejected: int = 0
    cycles: int = 0
    errors: list[str] = field(default_factory=list)
    batches: int = 0
    push_ms: int = 0  # the cycles' push phases: every batch sent and answered
    pull_ms: int = 0  # their pull phases: every page asked for and applied


def sync_until_empty(edge: Yadori) -> Drained:
    """Run the worker's cycles until nothing is pending.

    A failed cycle (a push that outlives the transport's 10 s timeout, say) is retried at once,
    as the monitor would after its backoff; the failures are counted and reported.
    """
    assert edge.worker is not None
    assert edge.edge_store is not None
    done = Drained()
    while True:
        done.cycles += 1
        try:
            report = edge.worker.cycle()
        except SyncError as exc:
            done.errors.append(str(exc))
        else:
            done.pushed += report.pushed
            done.rejected += report.rejected
            done.batches += report.batches
            done.push_ms += report.push_ms
            done.pull_ms += report.pull_ms
        if edge.edge_store.pending_count() == 0:
            return done
        if done.cycles > 50:
            raise RuntimeError(f"the queue does not drain: {done.errors[-3:]}")


def recovery(world: World, size: int, workdir: Path) -> Recovery:
    """Copy central and the edge's snapshot, start central, time the sync of the queue."""
    with database(world.template) as name, central_process(_pg_url(name), workdir) as central:
        path = copy_sqlite(world.snapshots[size], workdir / f"edge-run-{size}.db")
        edge = edge_at(path, central.url, world.hotel.property_id)
        try:
            assert edge.transport is not None
            assert edge.edge_store is not None
            pending = edge.edge_store.pending_count()
            if pending != size:
                raise RuntimeError(f"expected {size} pending, found {pending}")
            # the monitor's probe that sees the link back; untimed, and patient: a central
            # just started answers its first call slowly on a loaded machine
            edge.transport.heartbeat("edge1", timeout=10)
            timer = Timed()
            transport = edge.transport
            transport.push = timer.wrap(transport.push)  # type: ignore[method-assign]
            transport.pull = timer.wrap(transport.pull)  # type: ignore[method-assign]
            # the last batch's push, which brings the first pull page back (decision 0049)
            transport.push_pulling = timer.wrap(transport.push_pulling)  # type: ignore[method-assign]
            before = cpu_now(central.proc.pid)
            started = time.perf_counter()
            drained = sync_until_empty(edge)
            seconds = time.perf_counter() - started
            cpu = cpu_since(before, central.proc.pid)
        finally:
            edge.close()
    return Recovery(seconds, timer.seconds, drained, cpu)


def recovery_metrics(
    world: World, workdir: Path, console: Callable[[str], None], ingest: Ingest
) -> list[Metric]:
    """Recovery of 1,000 (median of 3) and of 20,000 queued mutations; the latter also over
    PostgreSQL's own ingest of the same rows, timed in this run (``calibration``)."""
    metrics: list[Metric] = []
    # targets: 1,000 in 0.3 s (so 3,333/s); 20,000 in 2 s and ≥ 5 × PouchDB's 1,900/s
    plan = ((SMALL, RUNS_SMALL, 0.3, SMALL / 0.3), (LARGE, RUNS_LARGE, 2.0, 9_500.0))
    for size, runs, target, rate_target in plan:
        done = [recovery(world, size, workdir) for _ in range(runs)]
        for r in done:
            d = r.drained
            cpu = (
                ""
                if r.cpu is None
                else (
                    f", CPU s edge {r.cpu.edge:.2f} central {r.cpu.central:.2f} "
                    f"PostgreSQL {r.cpu.postgres:.2f} "
                    f"(on {_cores()} cores ≥ {r.cpu.floor:.2f} s)"
                )
            )
            console(
                f"recovery {size}: {r.seconds:.2f} s, in HTTP calls {r.central_seconds:.2f} s, "
                f"pushed {d.pushed} in {d.batches} batches ({d.push_ms / 1000:.2f} s), pulled "
                f"in {d.pull_ms / 1000:.2f} s, rejected {d.rejected}, cycles {d.cycles}, "
                f"failed cycles {len(d.errors)} {d.errors[:1]}{cpu}"
            )
            if d.rejected:
                raise RuntimeError(f"{d.rejected} mutations rejected: the benchmark is invalid")
        seconds = median([r.seconds for r in done])
        share = median([r.central_seconds / r.seconds for r in done])
        how = f"median of {runs}" if runs > 1 else "1 run"
        failed = sum(len(r.drained.errors) for r in done)
        if failed:
            how += f", {failed} failed cycle(s) retried"
        label = f"{size:,} mutations → PostgreSQL central"
        metrics += [
            Metric(f"recovery {label}, {how}", seconds, "s", target, "lower", "R-PERF-4"),
            Metric(
                f"recovery {size:,}: rate, {how}",
                size / seconds,
                "mut/s",
                rate_target,
                "higher",
                "R-PERF-4",
            ),
            Metric(
                f"recovery {size:,}: central's share (time in push/pull calls), {how}",
                share * 100,
                "%",
                100,
                "lower",
                "info",
            ),
        ]
        if size == ingest.rows:
            own = "PostgreSQL's own executemany ingest of the same rows in one transaction"
            target_ratio = target / calibration.REFERENCE_ONE_TRANSACTION
            metrics.append(
                calibration.ratio(
                    f"recovery {size:,}", seconds, ingest.one_transaction, target_ratio, own
                )
            )
        cpus = [r.cpu for r in done if r.cpu is not None]
        if cpus:
            # The least wall time this machine could give the same work, however well edge,
            # central and PostgreSQL overlapped: when it passes the target, no scheduling
            # meets it here, only less work.
            metrics.append(
                Metric(
                    f"recovery {size:,}: CPU seconds of edge + central + PostgreSQL over "
                    f"{_cores()} cores, {how}",
                    median([c.floor for c in cpus]),
                    "s",
                    target,
                    "lower",
                    "info",
                )
            )
    return metrics


# --- one push batch of 100 ---------------------------------------------------------------------


def batch_metrics(world: World, workdir: Path, ingest: Ingest) -> list[Metric]:
    """Push + pull of 100 fresh mutations, acknowledged: p95 over BATCHES batches; the p95 also
    over one of PostgreSQL's own transactions of 100 rows, timed in this run."""
    samples: list[float] = []
    with database(world.template) as name, central_process(_pg_url(name), workdir) as central:
        path = copy_sqlite(world.snapshots[SMALL], workdir / "edge-batch.db")
        edge = edge_at(path, central.url, world.hotel.property_id)
        try:
            sync_until_empty(edge)  # the outage's queue first
            day = Day(edge, world.hotel, random.Random(7))
            day.arrivals = []  # the snapshot's day already checked some in
            for _ in range(BATCHES + 2):
                day.run(100)
                started = time.perf_counter()
                sync_until_empty(edge)
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            edge.close()
    samples = samples[2:]  # the first two warm the connection and the caches
    return [
        Metric(
            f"push batch of 100 acked (push + pull), p95 of {len(samples)}",
            percentile(samples, 95),
            "ms",
            50,
            "lower",
            "R-PERF-2",
        ),
        Metric(
            f"push batch of 100 acked, p50 of {len(samples)}",
            median(samples),
            "ms",
            50,
            "lower",
            "R-PERF-2",
        ),
        calibration.ratio(
            "push batch of 100 acked, p95",
            percentile(samples, 95) / 1000,
            ingest.one_transaction_of_100,
            0.050 / calibration.REFERENCE_ONE_OF_100,
            "one of PostgreSQL's own transactions of 100 of those rows",
        ),
    ]


# --- link cut and link back ---------------------------------------------------------------------


class SkipClock:
    """time.monotonic, plus the heightened-monitoring periods skipped after each recovery."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def link_metrics(world: World, workdir: Path, say: Callable[[str], None]) -> list[Metric]:
    """Cut the WAN CUTS times, then black-hole it HANGS times, under the real Monitor at its
    default timing; each outage starts at a random phase of the heartbeat, in its normal
    (not heightened) rhythm, and lasts long enough for the offline backoff to reach its cap."""
    timing = Timing()
    rng = random.Random(3)
    to_offline: dict[str, list[float]] = {"cut": [], "hang": []}
    to_sync: dict[str, list[float]] = {"cut": [], "hang": []}
    with (
        database(world.template) as name,
        central_process(_pg_url(name), workdir) as central,
        proxy_to(central) as proxy,
    ):
        path = copy_sqlite(world.snapshots[SMALL], workdir / "edge-link.db")
        edge = edge_at(path, proxy.url, world.hotel.property_id)
        assert edge.worker is not None
        assert edge.transport is not None
        assert edge.edge_store is not None
        clock = SkipClock()
        cycles: queue.Queue[float] = queue.Queue()
        cycle = edge.worker.cycle

        def timed_cycle() -> object:
            cycles.put(time.perf_counter())
            return cycle()

        edge.worker.cycle = timed_cycle  # type: ignore[method-assign]
        monitor = Monitor(
            edge.worker,
            edge.transport,
            edge.edge_store,
            edge.events,
            edge.bus.hlc,
            origin="edge1",
            timing=timing,
            clock=clock,
            patient=edge.transport.twin(),  # as bootstrap gives the edge's monitor
        )
        sync_until_empty(edge)  # the snapshot's outage queue first
        events = edge.events.subscribe()
        day = Day(edge, world.hotel, random.Random(11))
        day.arrivals = []
        monitor.start()  # online, at the normal heartbeat
        try:
            for fault in ["cut"] * CUTS + ["hang"] * HANGS:
                time.sleep(rng.uniform(0, timing.heartbeat))  # any phase of the heartbeat
                cut = time.perf_counter()
                proxy.set(fault)
                to_offline[fault].append(_wait_state(events, "offline", 15) - cut)
                day.run(10)  # the desk keeps working
                time.sleep(rng.uniform(1.8, 3.0))  # the backoff reaches its cap
                _empty(cycles)
                back = time.perf_counter()
                proxy.set("pass")
                to_sync[fault].append(cycles.get(timeout=10) - back)
                _wait_state(events, "online", 30)
                _drain_then_idle(edge, clock, timing)
        finally:
            monitor.stop()
            edge.close()
    for fault in ("cut", "hang"):
        say(
            f"{fault}: → offline {_ms(to_offline[fault])}; back → sync started "
            f"{_ms(to_sync[fault])}"
        )
    return [
        Metric(
            f"link cut → offline, p100 of {CUTS}",
            max(to_offline["cut"]),
            "s",
            1.5,
            "lower",
            "R-PERF-3",
        ),
        Metric(
            f"link back → sync started, p100 of the {CUTS}",
            max(to_sync["cut"]),
            "s",
            2.0,
            "lower",
            "R-PERF-4",
        ),
        Metric(
            f"link hang (black hole) → offline, p100 of {HANGS}",
            max(to_offline["hang"]),
            "s",
            1.5,
            "lower",
            "R-PERF-3",
        ),
        Metric(
            f"link back after a hang → sync started, p100 of the {HANGS}",
            max(to_sync["hang"]),
            "s",
            2.0,
            "lower",
            "R-PERF-4",
        ),
    ]


def _ms(samples: list[float]) -> str:
    return "[" + " ".join(f"{s * 1000:.0f}" for s in sorted(samples)) + "] ms"


def _wait_state(events: queue.Queue[dict[str, JSON]], state: str, seconds: float) -> float:
    """perf_counter when the link event ``state`` arrives."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"the monitor did not reach {state}")
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            continue
        data = event["data"]
        if event["event"] == "link" and isinstance(data, dict) and data.get("state") == state:
            return time.perf_counter()


def _drain_then_idle(edge: Yadori, clock: SkipClock, timing: Timing) -> None:
    """Let the recovery finish, then skip the heightened period (as if a minute went by)."""
    assert edge.edge_store is not None
    deadline = time.monotonic() + 30
    while edge.edge_store.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.offset += timing.heightened_for
    time.sleep(timing.heightened + 0.05)  # the probe scheduled in heightened mode passes


def _empty(q: queue.Queue[float]) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            q.get_nowait()


# --- all of it --------------------------------------------------------------------------------


def say_as(name: str) -> Callable[[str], None]:
    """A progress line printer that also shows the machine's load (the runs share it)."""
    started = time.perf_counter()

    def say(text: str) -> None:
        load = os.getloadavg()[0]
        elapsed = time.perf_counter() - started
        print(f"  [{name} {elapsed:4.0f} s, load {load:.1f}] {text}", flush=True)

    return say


def run(workdir: Path) -> list[Metric]:
    """Build the world once, then measure recovery, batches and the link."""
    say = say_as("sync")
    with database() as template:
        world = build_world(workdir, template, (SMALL, LARGE))
        say(f"seeded central, pulled, worked offline: {world.made}")
        rows = calibration.queued_rows(world.snapshots[LARGE])
        if len(rows) != LARGE:  # the ratio compares the same rows, or nothing
            raise RuntimeError(f"the snapshot holds {len(rows)} queued rows, not {LARGE}")
        with database() as scratch:
            ingest = calibration.measure(_pg_url(scratch), rows)
        say(
            f"PostgreSQL's own ingest of the {ingest.rows:,} queued rows: "
            f"{ingest.one_transaction:.3f} s in one transaction, {ingest.per_100:.3f} s by 100s"
        )
        metrics = calibration.metrics(ingest)
        metrics += recovery_metrics(world, workdir, say, ingest)
        metrics += batch_metrics(world, workdir, ingest)
        say("batches done")
        quiet = logging.getLogger("yadori.sync")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # not a warning line per link transition
        try:
            metrics += link_metrics(world, workdir, say)
        finally:
            quiet.setLevel(level)
    return metrics


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="yadori-bench-sync-") as tmp:
        for m in run(Path(tmp)):
            print(m)
