"""What the outage drill did and measured, and the report it prints at the end.

The figures of the 24 hours offline, the link's timings, the collision, conflict tickets and
rejections, and the comparison of central's and the edge's data table by table, with its MATCH
or MISMATCH line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from yadori.cli.demo_day import DayReport
from yadori.cli.demo_roomservice import RoomServiceReport
from yadori.storage.checksums import TableSum


@dataclass(frozen=True, slots=True)
class Compared:
    """One table's figures at central and at the edge."""

    table: str
    central: TableSum | None
    edge: TableSum | None

    @property
    def same(self) -> bool:
        """Same row count and same combined CRC32."""
        return self.central == self.edge


@dataclass
class DrillReport:
    """What the drill did and measured."""

    offline: DayReport
    started: date
    outage_detected_s: float = 0.0
    back_detected_s: float = 0.0
    synced_s: float = 0.0
    offline_s: float = 0.0
    queued: int = 0
    collision: str = ""
    tickets: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    outage_log: dict[str, Any] = field(default_factory=dict)
    compared: list[Compared] = field(default_factory=list)
    room_service: RoomServiceReport = field(default_factory=RoomServiceReport)
    repriced: list[dict[str, Any]] = field(default_factory=list)
    offline_login: str = ""

    @property
    def match(self) -> bool:
        """Whether central and the edge hold the same data."""
        return bool(self.compared) and all(c.same for c in self.compared)


# --- the report ------------------------------------------------------------------------------


def print_report(console: Console, report: DrillReport) -> None:
    """The drill's figures, the tickets, and the comparison with its MATCH or MISMATCH line."""
    off = report.offline
    table = Table(title=f"Offline for 24 simulated hours from {report.started} 17:00")
    table.add_column("done at the edge while central was unreachable")
    table.add_column("count", justify="right")
    table.add_column("yen", justify="right")
    table.add_row("walk-ins booked and checked in", str(off.walk_ins), "")
    table.add_row("charges posted", str(off.charges), f"{off.charged_yen:,}")
    table.add_row("room moves", str(off.moves), "")
    table.add_row("business day closed (night audit)", str(off.days_closed), "")
    table.add_row("departures settled and checked out", str(off.checked_out), f"{off.paid_yen:,}")
    table.add_row(
        "  paid in cash / by card", f"{off.payments['cash']} / {off.payments['card']}", ""
    )
    table.add_row("rooms cleaned and inspected", str(off.rooms_cleaned), "")
    table.add_row("arrivals checked in (registry recorded)", str(off.checked_in), "")
    total = off.operations + _room_service_rows(table, report.room_service)
    table.add_row("[bold]operations done offline[/bold]", f"[bold]{total}[/bold]", "")
    console.print(table)

    link = Table(title="The link")
    link.add_column("what")
    link.add_column("value", justify="right")
    link.add_row("outage detected after the cut", f"{report.outage_detected_s:.2f} s")
    link.add_row("WAN down (cut → restored)", f"{report.offline_s:.1f} s")
    if report.outage_log.get("duration_ms") is not None:
        logged = int(report.outage_log["duration_ms"]) / 1000
        link.add_row("edge offline (its outage log)", f"{logged:.1f} s")
    link.add_row("link back detected after", f"{report.back_detected_s:.2f} s")
    link.add_row("synced (queue empty, online) after", f"{report.synced_s:.2f} s")
    link.add_row("mutations queued offline and synced", str(report.queued))
    link.add_row("conflict tickets opened", str(len(report.tickets)))
    link.add_row("mutations rejected by central", str(len(report.rejected)))
    console.print(link)

    _print_events(console, report)

    sums = Table(title="Same data? Rows and CRC32 per table, read-only")
    sums.add_column("table", no_wrap=True)
    sums.add_column("central", justify="right")
    sums.add_column("CRC32", justify="right")
    sums.add_column("edge", justify="right")
    sums.add_column("CRC32", justify="right")
    sums.add_column("", justify="center")
    for c in report.compared:
        sums.add_row(
            c.table,
            _rows(c.central),
            _crc(c.central),
            _rows(c.edge),
            _crc(c.edge),
            "[green]=[/green]" if c.same else "[red]≠[/red]",
        )
    console.print(sums)
    rows = sum(c.central.rows for c in report.compared if c.central)
    if report.match:
        console.print(
            f"[bold green]MATCH[/bold green]: central and edge hold the same data "
            f"({len(report.compared)} tables, {rows} rows)"
        )
    else:
        differ = ", ".join(c.table for c in report.compared if not c.same) or "nothing compared"
        console.print(f"[bold red]MISMATCH[/bold red]: {differ}")


def _print_events(console: Console, report: DrillReport) -> None:
    """The collision, central's changes, repriced orders, tickets and rejections."""
    if report.collision:
        console.print(f"collision: {report.collision}")
    _print_room_service(console, report)
    for ticket in report.tickets:
        facts = ", ".join(f"{k} {v}" for k, v in sorted(ticket["facts"].items()))
        console.print(
            f"[yellow]ticket[/yellow] {ticket['kind']}: {ticket['summary']} ({facts}; "
            f"{ticket['status']})"
        )
    for rejected in report.rejected:
        console.print(f"[red]rejected[/red] {rejected.get('name')}: {rejected.get('reason')}")


def _room_service_rows(table: Table, rs: RoomServiceReport) -> int:
    table.add_row("room-service orders from the guest page's API", str(rs.orders), "")
    table.add_row("  resent by the page, taken once", str(rs.resent), "")
    table.add_row(
        "  delivered and charged once / cancelled",
        f"{rs.delivered} / {rs.cancelled}",
        f"{rs.charged_yen:,}",
    )
    return rs.operations


def _print_room_service(console: Console, report: DrillReport) -> None:
    for change in report.room_service.central_changes:
        console.print(f"meanwhile: {change}")
    for order in report.repriced:
        console.print(
            f"room service {order['number']}: estimated ¥{order['estimated_total']:,}, confirmed "
            f"by central at ¥{order['confirmed_total']:,}; the guest pays ¥{order['charge']:,} "
            f"({order['policy']} policy)"
        )
    for code in report.room_service.refused:
        console.print(f"room service refused an order: {code}")
    if report.room_service.guest_link:
        link = report.room_service.guest_link
        console.print(f"guest page (a guest's link): {link}", soft_wrap=True)
        code = link.partition("#p=")[2].partition("&")[0]
        kitchen = f"{link.partition('/guest/')[0]}/kitchen/?p={code}"
        console.print(f"kitchen screen: {kitchen}", soft_wrap=True)


def _rows(s: TableSum | None) -> str:
    return "—" if s is None else str(s.rows)


def _crc(s: TableSum | None) -> str:
    return "—" if s is None else f"{s.crc32:08x}"
