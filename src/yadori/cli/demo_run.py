"""`make demo`: a central and an edge as real processes, the demo hotel, a front-desk day.

Central uses SQLite in the demo's folder, or PostgreSQL when ``YADORI_CENTRAL_DB_URL`` is set
(its Yadori tables are dropped and made anew: point it at a database kept for the demo).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from rich.console import Console
from rich.table import Table

from yadori.bootstrap import NodeConfig, bootstrap
from yadori.cli.demo_day import DayReport, run_day
from yadori.cli.demo_hotel import CODE, seed
from yadori.cli.main import tokyo_today
from yadori.storage.engine import make_engine
from yadori.storage.tables import metadata

STARTUP_SECONDS = 30


def run_demo(console: Console, *, data_dir: Path, once: bool) -> int:
    """Run the demo; with ``once`` stop after the day, else serve until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    central_db = os.environ.get("YADORI_CENTRAL_DB_URL") or _sqlite(data_dir / "central.db")
    edge_db = _sqlite(data_dir / "edge1.db")
    _reset(console, central_db, edge_db)
    today = tokyo_today()
    for role, node_id, prefix, url in (
        ("central", "central", "C", central_db),
        ("edge", "edge1", "E1", edge_db),
    ):
        node = bootstrap(NodeConfig(role, node_id, prefix, url))
        hotel = seed(node.bus, today)
        node.close()
        console.print(
            f"[green]✓[/green] {role}: demo hotel {hotel.code} seeded "
            f"({hotel.rooms} rooms, {hotel.reservations} reservations, {hotel.in_house} in house)"
        )
    ports = _free_ports(2)
    procs = [
        _start("central", "central", "C", central_db, ports[0], data_dir),
        _start("edge", "edge1", "E1", edge_db, ports[1], data_dir),
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_healthy(url, proc)
        console.print(f"[green]✓[/green] central at {urls[0]}, edge at {urls[1]}")
        with httpx2.Client(base_url=urls[1], timeout=10) as client:
            started = time.perf_counter()
            report = run_day(client, CODE)
            elapsed = time.perf_counter() - started
            health = client.get("/health").json()
        _print_report(console, report, elapsed, health["pending_mutations"])
        if not once:
            console.print(
                f"\nServing. Edge: {urls[1]}/docs  Central: {urls[0]}/docs  (Ctrl-C to stop)"
            )
            _wait_forever(procs)
        return 0
    finally:
        _stop(procs)


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _reset(console: Console, *urls: str) -> None:
    for url in urls:
        if url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            continue
        console.print(f"[yellow]dropping the Yadori tables of {url} for a fresh demo[/yellow]")
        engine = make_engine(url)
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(  # noqa: PLR0917 - one call site, read as a row of the table it starts
    role: str, node_id: str, prefix: str, db: str, port: int, data_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YADORI_NODE_ID": node_id,
        "YADORI_NODE_PREFIX": prefix,
        "YADORI_DB_URL": db,
        "YADORI_PORT": str(port),
        "YADORI_LOG_LEVEL": "warning",
    }
    log = (data_dir / f"{node_id}.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "yadori.cli", role], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {proc.returncode}: see its log in the demo folder"
            )
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_SECONDS} s")


def _wait_forever(procs: list[subprocess.Popen[bytes]]) -> None:
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _print_report(console: Console, report: DayReport, elapsed: float, pending: int) -> None:
    table = Table(title=f"Front-desk day {report.business_date} at the edge (over HTTP)")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("yen", justify="right")
    table.add_row("arrivals checked in (registry recorded)", str(report.checked_in), "")
    table.add_row("charges posted", str(report.charges), f"{report.charged_yen:,}")
    table.add_row(
        "departures settled and checked out", str(report.checked_out), f"{report.paid_yen:,}"
    )
    table.add_row(
        "  paid in cash / by card", f"{report.payments['cash']} / {report.payments['card']}", ""
    )
    table.add_row("rooms cleaned and inspected", str(report.rooms_cleaned), "")
    table.add_row("mutations waiting in the edge's outbox", str(pending), "")
    console.print(table)
    for shown in report.errors_shown:
        console.print(f"refused as it should be → {shown}")
    console.print(f"the day took {elapsed:.2f} s")
