"""The `yadori` command: run an edge or central, migrate, seed the demo hotel, run the demo."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.console import Console

from yadori.bootstrap import NodeConfig, Yadori, bootstrap, tune_gc
from yadori.config import Role, Settings
from yadori.domain.errors import DomainError
from yadori.sync.connectivity import Timing
from yadori.sync.monitor import Thresholds

app = typer.Typer(help="Yadori (宿り): the offline-first hotel system.", no_args_is_help=True)
console = Console()


def settings(**overrides: object) -> Settings:
    """Settings from the environment, with the command line's options on top; exits if invalid."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            field = "YADORI_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            console.print(f"[red]invalid setting {field}: {error['msg']}[/red]")
        raise typer.Exit(2) from exc


def open_node(s: Settings) -> Yadori:
    """Bootstrap the node the settings describe (migrating its database)."""
    s.data_dir.mkdir(parents=True, exist_ok=True)
    config = NodeConfig(
        role=s.role.value,
        node_id=s.node_id,
        node_prefix=s.node_prefix,
        db_url=s.database_url(),
        sqlite_synchronous=s.sqlite_synchronous,
        central_url=s.central_url if s.role is Role.EDGE else "",
        timing=Timing(
            heartbeat=s.heartbeat_seconds,
            backoff_cap=s.backoff_cap_seconds,
            heightened_for=s.heightened_seconds,
        ),
        thresholds=Thresholds(
            outage_seconds=s.outage_alert_seconds,
            queue_depth=s.queue_alert_depth,
            max_skew_ms=s.max_skew_ms,
        ),
        batch_size=s.sync_batch_size,
        properties=tuple(p for p in s.property_ids.split(",") if p),
    )
    return bootstrap(config)


def serve(s: Settings) -> None:
    """Run the HTTP API of a node until stopped."""
    import uvicorn  # noqa: PLC0415 - only the serving commands need it

    from yadori.api.app import create_app  # noqa: PLC0415

    node = open_node(s)
    node.start_sync()
    tune_gc()
    console.print(f"[bold]Yadori {s.role.value}[/bold] {s.node_id} on http://{s.host}:{s.port}")
    try:
        uvicorn.run(create_app(node), host=s.host, port=s.port, log_level=s.log_level.lower())
    finally:
        node.close()


Port = Annotated[int | None, typer.Option(help="TCP port (YADORI_PORT)")]
Host = Annotated[str | None, typer.Option(help="address to listen on (YADORI_HOST)")]
Db = Annotated[str | None, typer.Option(help="database URL (YADORI_DB_URL)")]
NodeId = Annotated[str | None, typer.Option(help="this node's id (YADORI_NODE_ID)")]
DataDir = Annotated[Path | None, typer.Option(help="where SQLite files live (YADORI_DATA_DIR)")]


@app.command()
def edge(
    port: Port = None,
    host: Host = None,
    db: Db = None,
    node_id: NodeId = None,
    data_dir: DataDir = None,
) -> None:
    """Run the hotel's edge node: local SQLite, serves staff and guests, online or not."""
    serve(
        settings(
            role=Role.EDGE, port=port, host=host, db_url=db, node_id=node_id, data_dir=data_dir
        )
    )


@app.command()
def central(
    port: Port = None,
    host: Host = None,
    db: Db = None,
    node_id: NodeId = None,
    data_dir: DataDir = None,
) -> None:
    """Run central: PostgreSQL (or SQLite for a demo), where every edge's history meets."""
    serve(
        settings(
            role=Role.CENTRAL,
            port=port,
            host=host,
            db_url=db,
            node_id=node_id or os.environ.get("YADORI_NODE_ID") or "central",
            data_dir=data_dir,
        )
    )


@app.command()
def status(
    url: Annotated[str, typer.Option(help="the edge's address")] = "http://127.0.0.1:8600",
) -> None:
    """Show an edge's sync state: link, queue per lane, last push and pull, skew, tickets."""
    import httpx2  # noqa: PLC0415 - only this command needs it

    from yadori.cli.status_view import show_status  # noqa: PLC0415

    try:
        answer = httpx2.get(f"{url}/sync/status", timeout=5).json()
    except httpx2.HTTPError as exc:
        console.print(f"[red]cannot reach the edge at {url}: {exc}[/red]")
        raise typer.Exit(1) from exc
    show_status(console, answer)


@app.command()
def migrate(db: Db = None, data_dir: DataDir = None) -> None:
    """Bring the node's database to the newest schema (also done at every start)."""
    from yadori.storage.migrate import current_revision  # noqa: PLC0415

    node = open_node(settings(db_url=db, data_dir=data_dir))
    console.print(f"database at revision {current_revision(node.engine)}")
    node.close()


@app.command("seed-demo")
def seed_demo(
    db: Db = None,
    data_dir: DataDir = None,
    node_id: NodeId = None,
    today: Annotated[
        str | None, typer.Option(help="business date, YYYY-MM-DD (default: today in Tokyo)")
    ] = None,
) -> None:
    """Create the demo hotel in Tokyo: 3 room types, 40 rooms, a week of reservations."""
    from yadori.cli.demo_hotel import seed  # noqa: PLC0415

    s = settings(db_url=db, data_dir=data_dir, node_id=node_id)
    node = open_node(s)
    try:
        hotel = seed(node.bus, _date(today))
    except DomainError as exc:
        console.print(f"[red]cannot seed: {exc.message}[/red] (is the demo hotel already there?)")
        raise typer.Exit(1) from exc
    finally:
        node.close()
    console.print(
        f"seeded {hotel.code}: {hotel.rooms} rooms, {hotel.reservations} reservations, "
        f"{hotel.in_house} in house, business date {hotel.business_date}"
    )


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option(help="exit after the drill's report instead of serving")
    ] = False,
    data_dir: Annotated[Path, typer.Option(help="where the demo's files go")] = Path("var/demo"),
) -> None:
    """Run the outage drill: a day online, 24 simulated hours offline, sync, compare.

    Central, a fault proxy and an edge run as real processes; the report ends with MATCH when
    both nodes hold the same data.
    """
    from yadori.cli.demo_run import run_demo  # noqa: PLC0415

    raise typer.Exit(run_demo(console, data_dir=data_dir, once=once))


def _date(text: str | None) -> date:
    if text is None:
        return datetime.now(ZoneInfo("Asia/Tokyo")).date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        console.print(f"[red]--today must be YYYY-MM-DD, not {text!r}[/red]")
        raise typer.Exit(2) from exc


def tokyo_today() -> date:
    """Today's date in Tokyo, the demo hotel's time zone."""
    return _date(None)
