"""The outage drill that `make demo` runs, once the edge has pulled the hotel and run a day.

Cut the WAN at the fault proxy and time how long the edge takes to notice; keep the desk
working offline through a simulated 24 hours (evening charges, a walk-in, a room move, the
night audit, the next morning's departures and housekeeping, the next day's arrivals), while
central takes a booking for the very room the walk-in gets; restore the link and time the
detection and the sync; then compare central's and the edge's data table by table.

How the edge's link is watched is in ``drill_link.py``; the report and its printing are in
``drill_report.py``. The names a caller needs (``Drill``, ``print_report``, ``synced``,
``wait_until``) are all importable from here.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa
from rich.progress import Progress, TaskID

from yadori.cli.demo_day import (
    DayReport,
    Desk,
    Step,
    check_in_arrivals,
    check_out_departures,
    clean_rooms,
    close_day,
    free_room,
    move_a_guest,
    post_charges,
    walk_in,
)
from yadori.cli.demo_hotel import demo_id
from yadori.cli.demo_roomservice import (
    Kitchen,
    central_steps,
    kitchen_steps,
    order_steps,
)
from yadori.cli.drill_link import LinkWatcher, sync_status, synced, wait_until
from yadori.cli.drill_report import Compared, DrillReport, print_report
from yadori.cli.fault_proxy import FaultProxy
from yadori.storage.checksums import property_checksums
from yadori.storage.engine import make_engine

__all__ = [
    "Compared",
    "Drill",
    "DrillReport",
    "Scene",
    "print_report",
    "read_only",
    "synced",
    "wait_until",
]

OFFLINE_SECONDS = 10.0  # the simulated 24 hours last at least this long
DAY_MINUTES = 24 * 60
CUT_AT = 17 * 60  # the WAN goes down at 17:00 and comes back 24 hours later
DETECT_SECONDS = 15.0
SYNC_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Scene:
    """Work planned at a simulated time of the day offline and spread until ``end``."""

    start: int  # minutes after the cut
    end: int
    plan: Callable[[], list[Step]]


class Drill:
    """Cut, work offline, collide, restore, sync, compare."""

    def __init__(
        self,
        progress: Progress,
        *,
        proxy: FaultProxy,
        edge: httpx2.Client,
        central: httpx2.Client,
        code: str,
        property_id: str,
        on_offline: Callable[[], str] | None = None,
    ) -> None:
        self.progress = progress
        self.on_offline = on_offline
        self.proxy = proxy
        self.edge = edge
        self.property_id = property_id
        self.rng = random.Random(23)  # noqa: S311 - demo data
        self.desk = Desk(edge, code)
        self.central_desk = Desk(central, code)
        self.kitchen = Kitchen(edge, code, self.rng)
        self.collision_room: dict[str, Any] | None = None

    def run(self, edge_db: str, central_db: str) -> DrillReport:
        """The whole drill; the report says whether both nodes ended with the same data."""
        today = self.desk.business_date()
        report = DrillReport(DayReport(business_date=today.isoformat()), today)
        watcher = LinkWatcher(str(self.edge.base_url), dict(self.edge.headers)).start()
        try:
            cut = self._cut(watcher, report)
            if self.on_offline is not None:
                report.offline_login = self.on_offline()
            self._offline_day(report, today)
            report.offline_s = time.time() - cut
            self._restore(watcher, report)
        finally:
            watcher.stop()
        self._collect(report)
        self._compare(report, edge_db, central_db)
        return report

    # --- the cut ----------------------------------------------------------------------------

    def _cut(self, watcher: LinkWatcher, report: DrillReport) -> float:
        task = self.progress.add_task("WAN cut: waiting for the edge to notice", total=1)
        cut = time.time()
        self.proxy.set("cut")
        status = wait_until(
            self.edge,
            lambda s: s.get("link") == "offline",
            seconds=DETECT_SECONDS,
            what="the edge to notice the cut",
        )
        at = watcher.first("offline", cut) or _since(status)
        report.outage_detected_s = max(0.0, at - cut)
        self.progress.update(
            task,
            completed=1,
            description=f"WAN cut: edge offline after {report.outage_detected_s:.2f} s",
        )
        return cut

    # --- 24 hours offline -------------------------------------------------------------------

    def _offline_day(self, report: DrillReport, today: date) -> None:
        desk, day, rng = self.desk, report.offline, self.rng
        tomorrow = today + timedelta(days=1)
        avoid: set[str] = set()
        rs, kitchen = report.room_service, self.kitchen
        scenes = (
            Scene(30, 60, lambda: self._central_books(report, today, avoid)),
            Scene(60, 90, lambda: central_steps(self.central_desk, rs)),
            Scene(120, 150, lambda: self._walk_in(day, today)),
            Scene(150, 180, lambda: order_steps(kitchen, rs, today.isoformat())),
            Scene(180, 270, lambda: post_charges(desk, day, rng, today)),
            Scene(270, 330, lambda: kitchen_steps(kitchen, rs)),
            Scene(330, 360, lambda: move_a_guest(desk, day, today, avoid=avoid)),
            Scene(540, 570, lambda: close_day(desk, day, today)),
            Scene(840, 1080, lambda: check_out_departures(desk, day, rng, tomorrow)),
            Scene(1080, 1260, lambda: clean_rooms(desk, day)),
            Scene(1320, 1380, lambda: check_in_arrivals(desk, day, rng, tomorrow)),
            Scene(1380, DAY_MINUTES, lambda: post_charges(desk, day, rng, tomorrow, share=0.3)),
        )
        task = self.progress.add_task("offline", total=DAY_MINUTES)
        started = time.monotonic()
        for scene in scenes:
            steps = scene.plan()
            for i, step in enumerate(steps):
                minute = scene.start + (scene.end - scene.start) * i // len(steps)
                self._pace(task, started, minute, today, step.label)
                step.run()
        self._pace(task, started, DAY_MINUTES, today, "the link comes back")
        first = datetime.combine(today, datetime.min.time()) + timedelta(minutes=CUT_AT)
        self.progress.update(
            task,
            description=(
                f"offline {first:%a %H:%M} → {first + timedelta(days=1):%a %H:%M}: "
                f"{day.operations + rs.operations} operations"
            ),
        )

    def _pace(self, task: TaskID, started: float, minute: int, today: date, label: str) -> None:
        due = started + OFFLINE_SECONDS * minute / DAY_MINUTES
        time.sleep(max(0.0, due - time.monotonic()))
        clock = datetime.combine(today, datetime.min.time()) + timedelta(minutes=CUT_AT + minute)
        self.progress.update(
            task,
            completed=minute,
            description=f"offline {clock:%a %H:%M} · {label}",
        )

    def _central_books(self, report: DrillReport, night: date, avoid: set[str]) -> list[Step]:
        """Central's reservations office sells a named room for tonight, unaware of the hotel."""
        free = self.central_desk.get(
            "/availability", **{"from": night.isoformat(), "to": (night + timedelta(1)).isoformat()}
        )
        types = {t["code"]: t["id"] for t in self.central_desk.get("/room-types")}
        left = {code: nights[night.isoformat()] for code, nights in free.items()}
        room = None
        for code in sorted((c for c in left if left[c] > 0), key=lambda c: -left[c]):
            room = free_room(self.central_desk, types[code], night, night, set())
            if room is not None:
                break
        if room is None:
            return []  # the hotel is full tonight: no collision to show
        self.collision_room = room
        avoid.add(room["id"])
        chosen = room

        def book() -> None:
            booked = self.central_desk.post(
                "/reservations",
                {
                    "guest_name": "Anna Schmidt",
                    "arrival": night.isoformat(),
                    "departure": (night + timedelta(days=1)).isoformat(),
                    "adults": 1,
                    "room_type_id": chosen["room_type_id"],
                    "rate_plan_id": demo_id("rate_plan:BAR"),
                    "room_id": chosen["id"],
                },
            )
            report.collision = (
                f"central booked room {chosen['number']} for {night} ({booked['number']}); "
                "the edge, offline, gave the same room to a walk-in"
            )

        return [Step(f"central books room {room['number']} for tonight", book)]

    def _walk_in(self, day: DayReport, night: date) -> list[Step]:
        """A guest walks in and the desk, offline, gives them the room central just sold."""
        room = self.collision_room
        if room is None:
            return []
        return walk_in(self.desk, day, self.rng, night, room=room)

    # --- the link comes back ----------------------------------------------------------------

    def _restore(self, watcher: LinkWatcher, report: DrillReport) -> None:
        report.queued = int(sync_status(self.edge)["pending"])
        task = self.progress.add_task(
            f"link back: syncing {report.queued} mutations", total=max(1, report.queued)
        )
        back = time.time()
        self.proxy.set("pass")

        def show(status: dict[str, Any]) -> None:
            left = int(status.get("pending") or 0)
            self.progress.update(task, completed=max(0, report.queued - left))

        status = wait_until(
            self.edge, synced, seconds=SYNC_SECONDS, what="the edge to sync", each=show
        )
        recovering = watcher.first("recovering", back)
        online = watcher.first("online", back) or _since(status)
        report.back_detected_s = max(0.0, (recovering or online) - back)
        report.synced_s = max(0.0, online - back)
        self.progress.update(
            task,
            completed=max(1, report.queued),
            description=(
                f"link back: noticed in {report.back_detected_s:.2f} s, "
                f"{report.queued} synced in {report.synced_s:.2f} s"
            ),
        )

    def _collect(self, report: DrillReport) -> None:
        before = sync_status(self.edge).get("last_pull_ok")
        status = wait_until(  # one more pull, so that the edge has central's last word
            self.edge,
            lambda s: s.get("last_pull_ok") != before and synced(s),
            seconds=SYNC_SECONDS,
            what="one more pull",
        )
        report.rejected = list(status.get("rejected") or [])
        outages = status.get("outages") or []
        report.outage_log = outages[0] if outages else {}
        report.tickets = self.desk.get("/tickets")
        mine = set(report.room_service.order_ids)
        report.repriced = [
            o
            for o in self.desk.get("/room-service/orders")
            if o["id"] in mine and o["price_changed"]
        ]

    def _compare(self, report: DrillReport, edge_db: str, central_db: str) -> None:
        task = self.progress.add_task("comparing central and edge", total=2)
        with read_only(central_db) as conn:
            central = {s.table: s for s in property_checksums(conn, self.property_id)}
        self.progress.advance(task)
        with read_only(edge_db) as conn:
            edge = {s.table: s for s in property_checksums(conn, self.property_id)}
        self.progress.advance(task)
        report.compared = [
            Compared(name, central.get(name), edge.get(name))
            for name in sorted(central.keys() | edge.keys())
        ]


def _since(status: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(status["since"])).timestamp()


@contextlib.contextmanager
def read_only(url: str) -> Iterator[sa.Connection]:
    """A read-only connection holding one snapshot of the database (SQLite or PostgreSQL)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).resolve()
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")  # one snapshot for every table
                yield conn
                conn.rollback()
        finally:
            engine.dispose()
        return
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn:
            yield conn
            conn.rollback()
    finally:
        engine.dispose()
