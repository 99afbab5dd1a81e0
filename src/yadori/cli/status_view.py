"""`yadori status`: the edge's sync state as a table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

LANES = {"0": "payments", "1": "stays", "2": "room status", "3": "orders", "4": "logs"}


def show_status(console: Console, status: dict[str, object]) -> None:
    """Print the sync state an edge reports at /sync/status."""
    if status.get("sync") == "none" or "link" not in status:
        console.print(f"no sync on this node ({status.get('code') or status.get('role')})")
        return
    colour = {"online": "green", "recovering": "yellow"}.get(str(status["link"]), "red")
    console.print(f"link: [{colour}]{status['link']}[/{colour}] since {status['since']}")
    table = Table(title="sync")
    table.add_column("what")
    table.add_column("value", justify="right")
    queue = status.get("queue") or {}
    assert isinstance(queue, dict)  # noqa: S101 - the status schema
    for lane, count in sorted(queue.items()):
        table.add_row(f"queue: {LANES.get(lane, lane)}", str(count))
    for name in (
        "pending",
        "oldest_pending",
        "oldest_pending_age_s",
        "last_push_ok",
        "last_pull_ok",
        "skew_ms",
        "round_trip_ms",
        "heartbeat_timeout_ms",
        "open_tickets",
        "last_error",
    ):
        label = "oldest pending age (s)" if name == "oldest_pending_age_s" else name
        table.add_row(label.replace("_", " "), str(status.get(name)))
    rejected = status.get("rejected") or []
    assert isinstance(rejected, list)  # noqa: S101 - the status schema
    total = status.get("rejected_total")
    table.add_row("rejected mutations", str(total if isinstance(total, int) else len(rejected)))
    console.print(table)
    for item in rejected[:10]:
        console.print(f"[red]rejected[/red] {item}")
