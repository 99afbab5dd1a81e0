"""PostgreSQL plans each statement for its own parameters, however often it has run (0041).

psycopg prepares a statement after five runs on a connection; PostgreSQL may then switch to a
generic plan, made once for any parameters. For ``seq = ANY(:array)`` over rows whose
statistics are stale, that plan can scan every row against every element of the array: a
replay's lookup of its batch's results went from 0.6 ms to 45 ms as the table grew during a
recovery. Our connections never prepare statements, so no generic plan is ever made for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.storage import engine as engines
from yadori.storage.repositories.ledger import SqlLedger, results_after
from yadori.storage.sql import among
from yadori.storage.tables import sync_applied

probe = sa.Table(
    "plan_probe",
    sa.MetaData(),
    sa.Column("origin", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
)


def _plans_after_many_lookups(pg_url: str) -> list[tuple[int, int]]:
    """(generic, custom) plans of the lookup, run 20 times on one connection over a table
    analysed empty and filled since (as a central's results after a day of sync)."""
    engine = engines.make_engine(pg_url)
    try:
        with engine.begin() as conn:
            probe.create(conn)
            conn.execute(sa.text("ANALYZE plan_probe"))
            conn.execute(
                sa.text(
                    "INSERT INTO plan_probe SELECT 'edge1', g, repeat('x', 100) "
                    "FROM generate_series(1, 20000) AS g"
                )
            )
        with engine.connect() as conn:
            for n in range(20):
                seqs = range(30_000 + n * 500, 30_500 + n * 500)  # none there: a new batch
                query = sa.select(probe).where(
                    probe.c.origin == "edge1", among(probe.c.seq, seqs, conn.dialect)
                )
                assert conn.execute(query).all() == []
            rows = conn.execute(
                sa.text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%plan_probe%'"
                )
            ).all()
        return [(int(g), int(c)) for g, c in rows]
    finally:
        engine.dispose()


def test_a_lookup_run_many_times_is_planned_for_its_own_values(pg_url: str) -> None:
    assert _plans_after_many_lookups(pg_url) == []  # never prepared: no generic plan to use


def test_without_the_setting_postgresql_switches_to_one_generic_plan(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the setting prevents (so the test above can fail). Whether PostgreSQL picks the
    generic plan is its cost model's call: this holds on PostgreSQL 15, as run here and in CI."""
    monkeypatch.setattr(engines, "PREPARE_THRESHOLD", 5)  # psycopg's default
    plans = _plans_after_many_lookups(pg_url)
    assert any(generic > 0 for generic, _ in plans), plans


def test_a_batchs_known_results_are_looked_up_by_key_however_stale_the_statistics(
    pg_url: str,
) -> None:
    """A replay looks up which of its batch's mutations were applied before (by origin and
    seq). With statistics from when ``sync_applied`` was empty (autovacuum lags, or is off, as
    here) and a million results of the origin since, PostgreSQL planned that lookup on the
    (origin, result_no) index, read every result of the origin and filtered them: 350 ms a
    batch, and a drain of a million slowed from 6,900 to 2,200 mutations a second as it went.
    Bounded by the batch's lowest and highest seq, it is planned on the primary key."""
    engine = _results_analysed_empty(pg_url)
    try:
        with engine.connect() as conn:
            seen = _captured(conn)
            seqs = [150_000 + 3 * n for n in range(500)]  # a lane's batch: spread, not contiguous
            found = SqlLedger(conn, "p").results_of("edge1", seqs)
            assert sorted(found) == seqs
            ((statement, params),) = seen
            plan = conn.exec_driver_sql("EXPLAIN " + statement, params).scalars().all()  # type: ignore[arg-type]
        text = "\n".join(plan)
        assert "pk_sync_applied" in text, text
        assert "result_no" not in text, text
        assert "Seq Scan" not in text, text
    finally:
        engine.dispose()


def test_a_page_of_results_reads_no_more_rows_than_it_returns_however_stale_the_statistics(
    pg_url: str,
) -> None:
    """A pull's page of an origin's results, after a drain recorded 200,000 of them into a
    table analysed empty. Bounded below only, PostgreSQL read every later result through a
    bitmap scan and sorted them for the first 2,000 (with a million waiting, 270 ms a page).
    Bounded both ways (result numbers have no gaps), it reads the page's rows only."""
    engine = _results_analysed_empty(pg_url)
    try:
        with engine.connect() as conn:
            seen = _captured(conn)
            page = results_after(conn, "edge1", 100_000, 2_000)
            assert [number for number, _ in page] == list(range(100_001, 102_001))
            ((statement, params),) = seen
            explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + statement
            (plan,) = conn.exec_driver_sql(explain, params).scalars().all()  # type: ignore[arg-type]
        read = max(_rows_read(plan[0]["Plan"]))
        assert read <= 2_000, plan
    finally:
        engine.dispose()


def _rows_read(node: dict[str, object]) -> Iterator[int]:
    """The rows each scan in a JSON plan produced."""
    if "Scan" in str(node["Node Type"]):
        yield int(str(node["Actual Rows"]))
    for child in node.get("Plans", []):  # type: ignore[attr-defined]
        yield from _rows_read(child)


def _results_analysed_empty(pg_url: str) -> Engine:
    """An engine on ``sync_applied`` analysed empty, then given 200,000 results of one origin
    (numbered 1…200,000 by seq and by result): a central after a drain, autovacuum off."""
    engine = engines.make_engine(pg_url)
    with engine.begin() as conn:
        sync_applied.create(conn, checkfirst=True)  # the database may be migrated
        conn.execute(sa.text("ANALYZE sync_applied"))
        conn.execute(
            sa.text(
                "INSERT INTO sync_applied (origin, seq, mutation_id, property_id, name, "
                "result, reason, tickets, applied_at, result_no) "
                "SELECT 'edge1', g, 'm' || g, 'p', 'post_charge', 'applied', '', '[]', "
                "now(), g FROM generate_series(1, 200000) AS g"
            )
        )
    return engine


def _captured(conn: sa.Connection) -> list[tuple[str, object]]:
    """The statements on ``sync_applied`` run on ``conn`` from now on, with their parameters."""
    seen: list[tuple[str, object]] = []

    def capture(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if "FROM sync_applied" in statement:
            seen.append((statement, params))

    sa.event.listen(conn, "before_cursor_execute", capture)
    return seen
