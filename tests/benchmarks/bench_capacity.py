"""Capacity: local command latency with an empty outbox and with 1,000,000 pending, then drain.

The edge is the 300-room hotel of bench_sync.py, pulled from a real `yadori central` on
PostgreSQL, on a SQLite file with the production settings, GC tuned as `yadori edge` tunes it.
Latency is of a PostCharge or a SetRoomCondition through ``edge.bus.execute``, in process.

Two copies of that edge are compared: one keeps an empty outbox, the other's is filled with
1,000,000 valid pending mutations (charges, payments and housekeeping on the hotel's folios and
rooms, each sealed with its CRC32 and chained to the previous mutation of its aggregate) by one
executemany transaction: made through the handlers they would take an hour. The two are timed
in alternating blocks of commands, so the noise of a shared machine falls on both alike. The
outbox is keyed by its integer sequence (tables.py), so appending stays at the right edge of
the B-tree; its other indexes are the unique mutation id (a UUIDv7, time-ordered) and
(state, priority, seq).

Then the worker drains all 1,000,000 through central's full replay (push, replay, the pulls of
every result and of the changed documents), cycle after cycle as the monitor would run them,
until nothing is pending; central must hold a result for each, none rejected. The folios of
this backlog carry thousands of lines each (a million postings on 150 folios): publishing and
reading them is bounded per request (decision 0053), and any failed cycle is counted.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bench_sync as bs
import psycopg
import sqlalchemy as sa
from results import Metric, median, percentile
from sqlalchemy.dialects import sqlite as sqlite_dialect

from support.nodes import central_process
from yadori.bootstrap import Yadori, tune_gc
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.repositories.outbox import outbox_row
from yadori.storage.tables import counters, outbox, outbox_heads
from yadori.sync.canonical import JSON
from yadori.sync.mutation import make_mutation

PENDING_ROWS = 1_000_000
SAMPLES = 3_000  # commands timed at each outbox size
BLOCK = 250  # in alternating blocks
CHUNK = 50_000


# --- the outbox, filled directly ----------------------------------------------------------------


@dataclass
class Filler:
    """Makes valid pending mutations of the hotel's day without running their handlers."""

    edge: Yadori
    hotel: bs.HotelIds
    rng: random.Random

    def fill(self, count: int) -> float:
        """Append ``count`` pending mutations in one transaction; the seconds it took."""
        pid, node_id = self.hotel.property_id, self.edge.config.node_id
        rooms = self.edge.bus.read(pid, lambda uow: uow.rooms.list())
        housekept = {s.room_id for s in self.hotel.in_house} | set(
            self.hotel.rooms[bs.IN_HOUSE + bs.ARRIVALS :]
        )
        state = {
            r.id: (r.condition, r.condition_register.version, r.condition_register.stamp.hlc)
            for r in rooms
            if r.id in housekept
        }
        room_ids = sorted(state)
        folios = [s.folio_id for s in self.hotel.in_house]
        hlc, now = self.edge.bus.hlc, datetime.now(UTC)
        started = time.perf_counter()
        with self.edge.engine.begin() as conn:
            heads = {r.key: r.mutation_id for r in conn.execute(sa.select(outbox_heads))}
            seq = int(
                conn.execute(
                    sa.select(counters.c.value).where(
                        counters.c.scope == "node", counters.c.name == "mutation_seq"
                    )
                ).scalar()
                or 0
            )
            rows: list[dict[str, object]] = []
            for n in range(count):
                seq += 1
                stamp = str(hlc.now())
                kind, args, key = self._next(folios, room_ids, state, stamp)
                scoped = f"{pid}/{key}"
                mutation = make_mutation(
                    id=new_id(),
                    origin=node_id,
                    seq=seq,
                    hlc=stamp,
                    name=kind.name,
                    args=_checked(kind, args) if n < 300 else args,
                    deps=(heads[scoped],) if scoped in heads else (),
                    priority=kind.priority,
                    actor=bs.ACTOR,
                )
                heads[scoped] = mutation.id
                rows.append(outbox_row(mutation, pid, now, [scoped]))
                if len(rows) == CHUNK:
                    conn.execute(sa.insert(outbox), rows)
                    rows.clear()
            if rows:
                conn.execute(sa.insert(outbox), rows)
            upsert = sqlite_dialect.insert(outbox_heads)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[outbox_heads.c.key],
                    set_={"mutation_id": upsert.excluded.mutation_id},
                ),
                [{"key": k, "mutation_id": v} for k, v in heads.items()],
            )
            counter = sqlite_dialect.insert(counters).values(
                scope="node", name="mutation_seq", value=seq
            )
            conn.execute(
                counter.on_conflict_do_update(
                    index_elements=[counters.c.scope, counters.c.name],
                    set_={"value": counter.excluded.value},
                )
            )
        return time.perf_counter() - started

    def _next(
        self,
        folios: list[str],
        rooms: list[str],
        state: dict[str, tuple[Condition, int, str | None]],
        stamp: str,
    ) -> tuple[type[c.Command], dict[str, JSON], str]:
        """The next command of the mix: its class, its args as the bus records them (issued_on,
        base_version and base_hlc resolved) and the aggregate it touches. Plain dicts, not commands:
        ``cmd.args()`` costs a dataclass walk a row, a million times (``_checked`` compares)."""
        roll = self.rng.random()
        today = bs.TODAY.isoformat()
        if roll < 0.7:
            folio = self.rng.choice(folios)
            if roll < 0.53:
                charge: dict[str, JSON] = {
                    "amount": self.rng.randrange(300, 8_000, 10),
                    "category": "minibar",
                    "description": "minibar",
                    "folio_id": folio,
                    "issued_on": today,
                    "line_id": new_id(),
                    "tax_class": "standard",
                    "tax_included": True,
                }
                return c.PostCharge, charge, f"folio:{folio}"
            payment: dict[str, JSON] = {
                "amount": self.rng.randrange(1_000, 30_000, 100),
                "description": "",
                "folio_id": folio,
                "issued_on": today,
                "line_id": new_id(),
                "method": "cash",
            }
            return c.PostPayment, payment, f"folio:{folio}"
        room = self.rng.choice(rooms)
        condition, version, last_hlc = state[room]
        state[room] = (bs.NEXT_CONDITION[condition], version + 1, stamp)
        args: dict[str, JSON] = {
            "base_hlc": last_hlc,
            "base_version": version,
            "condition": bs.NEXT_CONDITION[condition].value,
            "issued_on": today,
            "room_id": room,
        }
        return c.SetRoomCondition, args, f"room:{room}"


def _checked(kind: type[c.Command], args: dict[str, JSON]) -> dict[str, JSON]:
    """The args, once checked to be what the command itself would record."""
    fields = {k: v for k, v in args.items() if k != "issued_on"}
    if "condition" in fields:
        fields["condition"] = Condition(fields["condition"])
    made = kind(issued_on=bs.TODAY, **fields).args()  # type: ignore[arg-type]
    if made != args:
        raise AssertionError(f"{kind.__name__}: {made} != {args}")
    return args


# --- the drain ---------------------------------------------------------------------------------


def drain_all(edge: Yadori, central_db: str) -> tuple[float, int, int]:
    """Worker cycles until nothing is pending: (seconds, cycles, failed cycles).

    A failed cycle is run again at once, as the monitor would after its backoff. Central must
    then hold one result for each filled mutation, none rejected.
    """
    assert edge.edge_store is not None
    assert edge.transport is not None
    edge.transport.heartbeat(edge.config.node_id)
    started = time.perf_counter()
    drained = bs.sync_until_empty(edge)
    seconds = time.perf_counter() - started
    if drained.rejected:
        raise RuntimeError(f"central rejected {drained.rejected} of the filled mutations")
    with psycopg.connect(bs._pg_url(central_db)) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE result = 'rejected') FROM sync_applied "
            "WHERE origin = %s",
            (edge.config.node_id,),
        ).fetchone()
    assert row is not None
    if row[0] < PENDING_ROWS or row[1]:
        raise RuntimeError(f"central holds {row[0]} results ({row[1]} rejected) after the drain")
    return seconds, drained.cycles, len(drained.errors)


# --- all of it --------------------------------------------------------------------------------


def _latency(day: bs.Day, count: int) -> list[float]:
    day.samples = []
    for n in range(count):
        if n % 2:
            day.housekeeping()
        else:
            day.charge()
    return list(day.samples)


def _interleaved(days: list[bs.Day], count: int) -> list[list[float]]:
    """``count`` timed commands at each edge, in alternating blocks of BLOCK: the machine is
    shared and its noise drifts, so both edges must see the same stretches of it."""
    samples: list[list[float]] = [[] for _ in days]
    for block in range(count // BLOCK):
        order = range(len(days)) if block % 2 == 0 else reversed(range(len(days)))
        for i in order:
            samples[i] += _latency(days[i], BLOCK)
    return samples


def run(workdir: Path) -> list[Metric]:
    """Latency at both outbox sizes, then the drain rate."""
    say = bs.say_as("capacity")
    with bs.database() as template:
        world = bs.build_world(workdir, template, (0,))
        with (
            bs.database(template) as name,
            central_process(bs._pg_url(name), workdir) as central,
        ):
            pid = world.hotel.property_id
            # two copies of the same pulled edge: one keeps an empty outbox, one gets a million
            empty_edge = bs.edge_at(
                bs.copy_sqlite(world.snapshots[0], workdir / "edge-empty.db"), central.url, pid
            )
            edge = bs.edge_at(
                bs.copy_sqlite(world.snapshots[0], workdir / "edge-full.db"), central.url, pid
            )
            try:
                filler = Filler(edge, world.hotel, random.Random(9))
                filled = filler.fill(PENDING_ROWS)
                assert edge.edge_store is not None
                pending = edge.edge_store.pending_count()
                say(f"filled {PENDING_ROWS:,} in {filled:.1f} s; pending {pending:,}")
                # a backlog of a million builds over days, its WAL long folded back into the
                # file by the checkpointer: fold this one now rather than measure the copy
                assert edge.checkpointer is not None
                edge.checkpointer.checkpoint("TRUNCATE")
                # (the filler's rows do not change the edge's rooms: the desk's commands find
                # the conditions they expect, and stay valid locally)
                days = [bs.Day(e, world.hotel, random.Random(5)) for e in (empty_edge, edge)]
                for day in days:
                    day.arrivals = []
                gc.collect()
                tune_gc()  # as `yadori edge` does at start
                _interleaved(days, 2 * BLOCK)  # warm caches and compiled statements
                empty, full = _interleaved(days, SAMPLES)
                say(
                    f"local command p99 {percentile(empty, 99):.2f} ms empty, "
                    f"{percentile(full, 99):.2f} ms at {pending:,} pending "
                    f"(p50 {median(empty):.2f} / {median(full):.2f} ms)"
                )
                seconds, cycles, failed = drain_all(edge, name)
                say(
                    f"drained all {pending:,} in {seconds:.1f} s, {cycles} cycle(s), "
                    f"{failed} failed, every result at central, none rejected"
                )
            finally:
                edge.close()
                empty_edge.close()
    p99_empty, p99_full = percentile(empty, 99), percentile(full, 99)
    rate = pending / seconds
    how = f"{seconds:.0f} s, {cycles} cycle(s)"
    if failed:
        how += f", {failed} failed and run again"
    return [
        Metric("command p99, empty outbox", p99_empty, "ms", 5, "lower", "R-PERF-6"),
        Metric(f"command p99, {pending:,} pending", p99_full, "ms", 5, "lower", "R-PERF-6"),
        Metric(
            "command p99 ratio, 1M pending / empty",
            p99_full / p99_empty,
            "×",
            1.5,
            "lower",
            "R-PERF-6",
        ),
        Metric(
            f"drain rate, all {pending:,} to central ({how})",
            rate,
            "mut/s",
            9_500,
            "higher",
            "R-PERF-6",
        ),
    ]
