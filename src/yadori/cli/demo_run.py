"""`make demo`: the outage drill, with a central and an edge as real processes.

Central gets the demo hotel (SQLite in the demo's folder, or PostgreSQL when
``YADORI_CENTRAL_DB_URL`` is set: its Yadori tables are dropped and made anew, so point it at a
database kept for the demo). A fault proxy stands between the two; the edge starts on an empty
SQLite file and pulls the hotel through it. Then a front-desk day at the edge, synced, and the
drill of ``drill.py``: WAN cut, 24 simulated hours offline, link back, sync, comparison.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from yadori.bootstrap import NodeConfig, bootstrap
from yadori.cli.demo_day import DayReport, DemoFailed, Step, run_day
from yadori.cli.demo_hotel import CODE, DEMO_STAFF, DemoHotel, seed
from yadori.cli.drill import Drill, print_report, synced, wait_until
from yadori.cli.enrol import EnrolmentFailed, enroll, enrolment_token
from yadori.cli.fault_proxy import FaultProxy
from yadori.cli.main import tokyo_today
from yadori.storage.engine import make_engine
from yadori.storage.tables import metadata

STARTUP_SECONDS = 30
PULL_SECONDS = 60


def run_demo(console: Console, *, data_dir: Path, once: bool) -> int:
    """Run the drill; with ``once`` stop after the report, else serve until Ctrl-C.

    Returns 0 when central and the edge end with the same data, 1 otherwise. SIGTERM is taken
    as Ctrl-C, so the processes the demo started are stopped either way.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(console, data_dir=data_dir, once=once)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(console: Console, *, data_dir: Path, once: bool) -> int:
    started = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    central_db = os.environ.get("YADORI_CENTRAL_DB_URL") or _sqlite(data_dir / "central.db")
    edge_db = _sqlite(data_dir / "edge1.db")
    _reset(console, central_db, edge_db)
    central_keys = data_dir / "keys" / "central"
    node = bootstrap(NodeConfig("central", "central", "C", central_db, key_dir=str(central_keys)))
    assert node.auth is not None  # noqa: S101 - every bootstrapped node has one
    hotel = seed(node.bus, tokyo_today(), hasher=node.auth.hasher)
    node.close()
    where = "PostgreSQL" if central_db.startswith("postgresql") else "SQLite"
    console.print(
        f"[green]✓[/green] central ({where}): demo hotel {hotel.code} seeded ({hotel.rooms} "
        f"rooms, {hotel.reservations} reservations, {hotel.in_house} in house); "
        "the edge starts empty"
    )
    print_credentials(console)
    try:
        with _nodes(console, data_dir, central_db, edge_db, hotel) as (proxy, procs, urls):
            code = _drill(console, proxy, urls, hotel, central_db, edge_db)
            console.print(f"the whole drill took {time.monotonic() - started:.1f} s")
            if not once:
                console.print(
                    f"\nServing. Edge: {urls['edge']}/docs  Central: {urls['central']}/docs  "
                    f"(the edge reaches central through the proxy at {proxy.url})\n"
                    f"  yadori status --url {urls['edge']} --staff {MANAGER} --pin 222222 "
                    f"--property {hotel.code}    (Ctrl-C to stop)"
                )
                _wait_forever(procs)
            return code
    except DemoFailed as exc:
        console.print(f"[bold red]the drill failed:[/bold red] {exc}")
        console.print(f"logs: {data_dir.resolve()}/*.log")
        return 1


@contextmanager
def _nodes(
    console: Console, data_dir: Path, central_db: str, edge_db: str, hotel: DemoHotel
) -> Iterator[tuple[FaultProxy, list[subprocess.Popen[bytes]], dict[str, str]]]:
    """Central, the fault proxy in front of it, and the edge behind the proxy."""
    ports = _free_ports(2)
    urls = {"central": f"http://127.0.0.1:{ports[0]}", "edge": f"http://127.0.0.1:{ports[1]}"}
    procs = [_start("central", "central", "C", central_db, ports[0], data_dir)]
    proxy: FaultProxy | None = None
    try:
        _wait_healthy(urls["central"], procs[0])
        proxy = FaultProxy("127.0.0.1", ports[0]).start()
        token, _ = enrolment_token(central_db, "edge1", (hotel.property_id,), timedelta(minutes=10))
        try:
            enrolled = enroll("edge1", data_dir / "keys" / "edge1", edge_db, proxy.url, token)
        except EnrolmentFailed as exc:
            raise DemoFailed(f"the edge could not enrol: {exc}") from exc
        console.print(
            f"[green]✓[/green] edge1 enrolled with central (one-time token; key {enrolled.kid})"
        )
        edge_env = {"YADORI_CENTRAL_URL": proxy.url, "YADORI_PROPERTY_IDS": hotel.property_id}
        procs.append(_start("edge", "edge1", "E1", edge_db, ports[1], data_dir, edge_env))
        _wait_healthy(urls["edge"], procs[1])
        console.print(
            f"[green]✓[/green] central {urls['central']} ← fault proxy {proxy.url} "
            f"← edge {urls['edge']}"
        )
        yield proxy, procs, urls
    finally:
        _stop(procs)
        if proxy is not None:
            proxy.stop()


def _drill(  # noqa: PLR0917 - one call site
    console: Console,
    proxy: FaultProxy,
    urls: dict[str, str],
    hotel: DemoHotel,
    central_db: str,
    edge_db: str,
) -> int:
    columns = (
        SpinnerColumn(finished_text="[green]✓[/green]"),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with (
        httpx2.Client(base_url=urls["edge"], timeout=10) as edge,
        httpx2.Client(base_url=urls["central"], timeout=10) as central,
        Progress(*columns, console=console) as progress,
    ):
        edge.headers["Authorization"] = _login(edge, hotel.code, MANAGER, "the edge (online)")
        central.headers["Authorization"] = _login(
            central, hotel.code, MANAGER, "central (head office)"
        )
        _pull_hotel(progress, edge, hotel)
        day = _front_desk_day(progress, edge)
        drill = Drill(
            progress,
            proxy=proxy,
            edge=edge,
            central=central,
            code=hotel.code,
            property_id=hotel.property_id,
            on_offline=lambda: _offline_login(edge, hotel.code),
        )
        report = drill.run(edge_db, central_db)
    _print_day(console, day)
    if report.offline_login:
        console.print(f"[green]✓[/green] {report.offline_login}")
    print_report(console, report)
    return 0 if report.match else 1


MANAGER = "MG01"


def print_credentials(console: Console) -> None:
    """The demo staff's codes and PINs (demo data: printed on purpose)."""
    table = Table(title="Demo staff: log in with code + PIN (POST …/auth/login)")
    for column in ("code", "name", "role", "PIN"):
        table.add_column(column)
    for code, name, role, pin in DEMO_STAFF:
        table.add_row(code, name, role, pin)
    console.print(table)


def _login(client: httpx2.Client, code: str, staff: str, where: str) -> str:
    """Log a demo staff member in, as staff would; the Authorization header's value."""
    pin = next(p for c, _, _, p in DEMO_STAFF if c == staff)
    deadline = time.monotonic() + PULL_SECONDS
    while True:
        answer = client.post(
            f"/api/v1/properties/{code}/auth/login", json={"staff_code": staff, "pin": pin}
        )
        if answer.status_code == 200:
            return f"Bearer {answer.json()['token']}"
        if time.monotonic() > deadline:
            raise DemoFailed(f"{staff} could not log in at {where}: {answer.text}")
        time.sleep(0.2)  # the edge has not pulled the staff yet


def _offline_login(edge: httpx2.Client, code: str) -> str:
    """The night manager logs in again at the edge while the WAN is down: an offline token."""
    edge.headers["Authorization"] = _login(edge, code, MANAGER, "the edge (offline)")
    me = edge.get(f"/api/v1/properties/{code}/auth/me").json()
    return (
        f"{MANAGER} logged in at the edge while offline: token signed by {me['issuer']} "
        f"(offline={str(me['offline']).lower()}, until {me['expires_at'][11:16]} UTC)"
    )


def _pull_hotel(progress: Progress, edge: httpx2.Client, hotel: DemoHotel) -> None:
    """Wait until the edge has pulled the whole hotel from central."""
    task = progress.add_task("edge pulls the hotel from central", total=hotel.rooms)
    base = f"/api/v1/properties/{hotel.code}"

    def rooms_there(status: dict[str, Any]) -> bool:
        if not status.get("last_pull_ok"):
            return False
        answer = edge.get(f"{base}/rooms")
        rooms = len(answer.json()) if answer.status_code == 200 else 0
        progress.update(task, completed=rooms)
        return rooms == hotel.rooms and synced(status)

    wait_until(edge, rooms_there, seconds=PULL_SECONDS, what="the edge to pull the hotel")
    reservations = len(edge.get(f"{base}/reservations").json())
    progress.update(
        task,
        description=f"edge pulled the hotel ({hotel.rooms} rooms, {reservations} reservations)",
    )


def _front_desk_day(progress: Progress, edge: httpx2.Client) -> DayReport:
    """Today's work at the edge, online, then wait for it to reach central."""
    task = progress.add_task("front-desk day at the edge (online)", total=0)
    planned = 0

    def run(steps: list[Step]) -> None:
        nonlocal planned
        planned += len(steps)
        progress.update(task, total=planned)
        for step in steps:
            progress.update(task, description=f"front-desk day (online) · {step.label}")
            step.run()
            progress.advance(task)

    report = run_day(edge, CODE, run=run)
    progress.update(task, description=f"front-desk day {report.business_date} (online)")
    pending = int(edge.get("/sync/status").json()["pending"])
    sync = progress.add_task(f"syncing the day ({pending} mutations)", total=max(1, pending))
    wait_until(
        edge,
        synced,
        seconds=PULL_SECONDS,
        what="the edge to sync the day",
        each=lambda s: progress.update(sync, completed=pending - int(s.get("pending") or 0)),
    )
    progress.update(sync, completed=max(1, pending))
    return report


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _reset(console: Console, *urls: str) -> None:
    for url in urls:
        if url.startswith("sqlite:///"):  # the demo's keys live beside its files
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent / "keys", ignore_errors=True)
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


def _start(  # noqa: PLR0917 - read as a row of the table it starts
    role: str,
    node_id: str,
    prefix: str,
    db: str,
    port: int,
    data_dir: Path,
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **(extra or {}),
        "YADORI_NODE_ID": node_id,
        "YADORI_NODE_PREFIX": prefix,
        "YADORI_DB_URL": db,
        "YADORI_PORT": str(port),
        "YADORI_LOG_LEVEL": "warning",
        "YADORI_DATA_DIR": str(data_dir),  # keys in <data dir>/keys/<node id>
    }
    log = (data_dir / f"{node_id}.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "yadori.cli", role], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoFailed(f"{url} exited with {proc.returncode}: see its log")
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise DemoFailed(f"{url} did not answer within {STARTUP_SECONDS} s")


def _wait_forever(procs: list[subprocess.Popen[bytes]]) -> None:
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the edge first, then central (so the edge logs no outage on the way out)."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _print_day(console: Console, report: DayReport) -> None:
    table = Table(title=f"Front-desk day {report.business_date} at the edge, online (over HTTP)")
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
    console.print(table)
    for shown in report.errors_shown:
        console.print(f"refused as it should be → {shown}")
