"""The `yadori` command: run an edge or central, migrate, seed the demo hotel, run the demo."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.console import Console

from yadori.auth.roles import Role as StaffRole
from yadori.bootstrap import AuthSettings, NodeConfig, Yadori, bootstrap, tune_gc
from yadori.cli.enrol import EnrolmentFailed, add_staff, enroll, enrolment_token, load_enrolment
from yadori.config import Role, Settings
from yadori.domain.errors import DomainError
from yadori.sync.connectivity import Timing
from yadori.sync.monitor_ports import Thresholds
from yadori.sync.queue_guard import MAX_SET_ASIDE

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
    enrolment = load_enrolment(s.keys_path()) if s.role is Role.EDGE else None
    central_url = s.central_url or (enrolment.central_url if enrolment else "")
    properties = tuple(p for p in s.property_ids.split(",") if p)
    config = NodeConfig(
        role=s.role.value,
        node_id=s.node_id,
        node_prefix=s.node_prefix,
        db_url=s.database_url(),
        sqlite_synchronous=s.sqlite_synchronous,
        central_url=central_url if s.role is Role.EDGE else "",
        timing=Timing(
            heartbeat=s.heartbeat_seconds,
            backoff_cap=s.backoff_cap_seconds,
            sync_backoff_cap=s.sync_backoff_cap_seconds,
            heartbeat_allowance=s.heartbeat_allowance_seconds,
            heightened_for=s.heightened_seconds,
        ),
        thresholds=Thresholds(
            outage_seconds=s.outage_alert_seconds,
            queue_depth=s.queue_alert_depth,
            max_skew_ms=s.max_skew_ms,
        ),
        batch_size=s.sync_batch_size,
        properties=properties or (enrolment.properties if enrolment else ()),
        key_dir=str(s.keys_path()),
        auth=AuthSettings(
            offline_lifetime=timedelta(hours=s.offline_token_hours),
            online_lifetime=timedelta(hours=s.online_token_hours),
            lockout_failures=s.lockout_failures,
            lockout_for=timedelta(minutes=s.lockout_minutes),
        ),
        hlc_max_ahead_ms=round(s.hlc_max_ahead_seconds * 1000),
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


class Lang(StrEnum):
    """The languages `yadori status` speaks."""

    JA = "ja"
    EN = "en"


Port = Annotated[int | None, typer.Option(help="TCP port (YADORI_PORT)")]
Host = Annotated[str | None, typer.Option(help="address to listen on (YADORI_HOST)")]
Db = Annotated[str | None, typer.Option(help="database URL (YADORI_DB_URL)")]
NodeId = Annotated[str | None, typer.Option(help="this node's id (YADORI_NODE_ID)")]
DataDir = Annotated[Path | None, typer.Option(help="where SQLite files live (YADORI_DATA_DIR)")]


edge_app = typer.Typer(help="The hotel's edge node.")
app.add_typer(edge_app, name="edge")


@edge_app.callback(invoke_without_command=True)
def edge(  # noqa: PLR0917 - Typer takes the options as parameters
    ctx: typer.Context,
    port: Port = None,
    host: Host = None,
    db: Db = None,
    node_id: NodeId = None,
    data_dir: DataDir = None,
) -> None:
    """Run the hotel's edge node: local SQLite, serves staff and guests, online or not."""
    ctx.obj = {"db_url": db, "node_id": node_id, "data_dir": data_dir}
    if ctx.invoked_subcommand is None:
        serve(
            settings(
                role=Role.EDGE, port=port, host=host, db_url=db, node_id=node_id, data_dir=data_dir
            )
        )


@edge_app.command("enroll")
def edge_enroll(
    ctx: typer.Context,
    central_url: Annotated[str, typer.Option("--central", help="central's address")],
    token: Annotated[str, typer.Option(help="the one-time enrolment token from central")],
) -> None:
    """Enrol this edge with central: make its key pair and register the public key."""
    s = settings(role=Role.EDGE, **{k: v for k, v in (ctx.obj or {}).items() if v is not None})
    s.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = enroll(s.node_id, s.keys_path(), s.database_url(), central_url, token)
    except (EnrolmentFailed, OSError) as exc:
        console.print(f"[red]enrolment refused: {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"enrolled {s.node_id} with {central_url}: key {done.kid}, "
        f"properties {', '.join(done.properties)}; key and pepper in {s.keys_path()}"
    )


@edge_app.command("rotate-key")
def edge_rotate_key(ctx: typer.Context) -> None:
    """Make a new key pair and register it with central, which retires the old one."""
    from yadori.cli.enrol import rotate  # noqa: PLC0415

    s = settings(role=Role.EDGE, **{k: v for k, v in (ctx.obj or {}).items() if v is not None})
    node = open_node(s)
    try:
        kid = rotate(node, s.keys_path())
    except (EnrolmentFailed, OSError) as exc:
        console.print(f"[red]rotation failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        node.close()
    console.print(f"new key {kid}; restart the edge to sign with it")


RELEASE_HELP = (
    "Let the sync set aside queued operations it cannot send, after its brake held the queue. "
    f"More than {MAX_SET_ASIDE} within 24 hours (damaged on this edge's disk, or too large to "
    "send) hold the "
    "whole queue for IT; the alerts name them. Once the cause is understood (a failing disk, "
    "not a bug an upgrade fixes), this lets --allow more be set aside within 24 hours: each is "
    "rejected with an alert and entered again by staff, and the rest of the queue syncs. The "
    "edge may keep running."
)


@edge_app.command("release-brake", help=RELEASE_HELP)
def edge_release_brake(
    ctx: typer.Context,
    allow: Annotated[
        int,
        typer.Option(
            min=1,
            max=1_000_000,
            help="how many queued operations that cannot be sent may be set aside from now on "
            "(within 24 hours)",
        ),
    ] = MAX_SET_ASIDE,
) -> None:
    """Release the set-aside brake (decision 0065)."""
    s = settings(role=Role.EDGE, **{k: v for k, v in (ctx.obj or {}).items() if v is not None})
    url = s.database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        console.print(
            f"[red]no edge database at {url.removeprefix('sqlite:///')}: give the edge's "
            "--data-dir (or --db) and --node-id, as it runs with[/red]"
        )
        raise typer.Exit(2)
    node = open_node(s)
    try:
        store = node.edge_store
        if store is None:
            console.print(
                f"[red]edge {s.node_id} syncs with no central (it is not enrolled): it has no "
                "sync queue to release[/red]"
            )
            raise typer.Exit(1)
        at = store.release_brake(allow)
        waiting = store.pending_count()
    finally:
        node.close()
    console.print(
        f"brake released at {at:%Y-%m-%d %H:%M:%S %Z}: up to {allow} queued operation(s) that "
        f"cannot be sent may be set aside within 24 hours; {waiting} wait for central. The "
        "running edge takes this at its next sync; `yadori status` shows what was rejected."
    )


@app.command("enrolment-token")
def enrolment_token_cmd(
    node: Annotated[str, typer.Option("--node", help="the edge's node id")],
    property_id: Annotated[list[str], typer.Option("--property", help="a property id")],
    db: Db = None,
    data_dir: DataDir = None,
    minutes: Annotated[int, typer.Option(help="how long the token is valid")] = 60,
) -> None:
    """At central's console: a single-use token for `yadori edge enroll`."""
    s = settings(role=Role.CENTRAL, db_url=db, data_dir=data_dir, node_id="central")
    token, expires = enrolment_token(
        s.database_url(), node, tuple(property_id), timedelta(minutes=minutes)
    )
    console.print(token)
    console.print(f"valid once, until {expires.isoformat()}", style="dim")


@app.command("add-staff")
def add_staff_cmd(  # noqa: PLR0917 - Typer takes the options as parameters
    property_id: Annotated[str, typer.Option("--property", help="the property's id")],
    code: Annotated[str, typer.Option(help="the staff code used to log in")],
    name: Annotated[str, typer.Option(help="the staff member's name")],
    role: Annotated[StaffRole, typer.Option(help="the role")],
    pin: Annotated[str, typer.Option(prompt=True, hide_input=True, help="4–8 digits")],
    db: Db = None,
    data_dir: DataDir = None,
) -> None:
    """At central's console: add a staff member (the first admin of a property)."""
    s = settings(role=Role.CENTRAL, db_url=db, data_dir=data_dir, node_id="central")
    node = open_node(s)
    try:
        member = add_staff(node, property_id, code, name, role, pin)
    except (EnrolmentFailed, DomainError) as exc:
        console.print(f"[red]cannot add: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        node.close()
    console.print(f"added {member.code} ({member.role}) id {member.id}")


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
def status(  # noqa: PLR0917 - Typer takes the options as parameters
    url: Annotated[str, typer.Option(help="the edge's address")] = "http://127.0.0.1:8600",
    token: Annotated[
        str | None, typer.Option(envvar="YADORI_TOKEN", help="a staff token (YADORI_TOKEN)")
    ] = None,
    staff: Annotated[str | None, typer.Option(help="log in first: staff code")] = None,
    pin: Annotated[str | None, typer.Option(help="log in first: PIN")] = None,
    hotel: Annotated[
        str | None, typer.Option("--property", help="property code to log in to")
    ] = None,
    lang: Annotated[
        Lang, typer.Option(envvar="YADORI_LANG", help="ja or en (YADORI_LANG)")
    ] = Lang.EN,
) -> None:
    """Show an edge's sync state: link, queue per lane, last push and pull, skew, tickets."""
    import httpx2  # noqa: PLC0415 - only this command needs it

    from yadori.cli.status_view import show_status  # noqa: PLC0415

    try:
        if staff and pin and hotel:
            login = httpx2.post(
                f"{url}/api/v1/properties/{hotel}/auth/login",
                json={"staff_code": staff, "pin": pin},
                timeout=10,
            ).json()
            token = login.get("token") or token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = httpx2.get(f"{url}/sync/status", timeout=5, headers=headers).json()
    except httpx2.HTTPError as exc:
        console.print(f"[red]cannot reach the edge at {url}: {exc}[/red]")
        raise typer.Exit(1) from exc
    except ValueError as exc:  # not JSON: another service on that port, a proxy's error page
        console.print(
            f"[red]{url} answered with something that is not a Yadori edge's (not JSON): "
            "check the address and port (an edge serves 8600 by default)[/red]"
        )
        raise typer.Exit(1) from exc
    if not isinstance(answer, dict):
        console.print(f"[red]{url} answered JSON that is not a Yadori edge's status[/red]")
        raise typer.Exit(1)
    if "code" in answer and "link" not in answer:
        console.print(
            f"[red]{answer.get('code')}: {answer.get('detail')}[/red] — log in with "
            "--staff CODE --pin PIN --property TKY1, or pass --token / YADORI_TOKEN"
        )
        raise typer.Exit(1)
    show_status(console, answer, lang.value)


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
    """Create the demo hotel in Tokyo at central: 40 rooms, a week of reservations, demo staff."""
    from yadori.cli.demo_hotel import seed  # noqa: PLC0415

    s = settings(role=Role.CENTRAL, db_url=db, data_dir=data_dir, node_id=node_id or "central")
    node = open_node(s)
    try:
        hasher = node.auth.hasher if node.auth is not None else None
        hotel = seed(node.bus, _date(today), hasher=hasher)
    except DomainError as exc:
        console.print(f"[red]cannot seed: {exc.message}[/red] (is the demo hotel already there?)")
        raise typer.Exit(1) from exc
    finally:
        node.close()
    console.print(
        f"seeded {hotel.code}: {hotel.rooms} rooms, {hotel.reservations} reservations, "
        f"{hotel.in_house} in house, business date {hotel.business_date}"
    )
    if hasher is not None:
        from yadori.cli.demo_run import print_credentials  # noqa: PLC0415

        print_credentials(console)


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
