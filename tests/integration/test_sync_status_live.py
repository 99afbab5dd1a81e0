"""The sync status of a running edge, as staff see it: `/sync/status` and `yadori status`.

Central is a real `yadori central` process on PostgreSQL behind the fault proxy; the edge runs
in process on SQLite with its real connectivity monitor (fast timing) and serves its API over
real HTTP. The WAN is cut, work is queued in several lanes, and the status must show that
queue as it is; once the WAN is back and the monitor has synced, it must show it drained and
when the push and the pull last succeeded.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from support.auth import bearer, provision_edge_keys, token_for
from support.browser import served
from support.hotel import TODAY, Hotel, build_hotel
from support.nodes import CentralProcess, central_process, edge_node, monitor_on_fake, proxy_to
from support.sync import wait_until
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.fault_proxy import FaultProxy
from yadori.cli.main import app as cli
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.tables import outbox
from yadori.sync.connectivity import LinkState
from yadori.sync.errors import LinkDown
from yadori.sync.monitor import Monitor
from yadori.sync.mutation import Mutation

pytestmark = [pytest.mark.postgres]

LANE_NAMES = {"0": "payments", "1": "stays", "2": "room status"}
"""The lanes as `yadori status` names them."""


@dataclass
class Site:
    """Central with the small hotel, the fault proxy, an edge that pulled it, and a token."""

    central: CentralProcess
    proxy: FaultProxy
    hotel: Hotel  # bound to the edge
    edge: Yadori
    token: str  # head office staff's: central's tokens hold at its edges

    @property
    def monitor(self) -> Monitor:
        """The edge's connectivity monitor."""
        assert self.edge.monitor is not None
        return self.edge.monitor


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL with the small hotel, a proxy, and an edge that has
    pulled the hotel once (by hand: its monitor is not started)."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    node.close()
    with central_process(pg_url, tmp_path) as central, proxy_to(central) as proxy:
        edge = edge_node(tmp_path, proxy.url, (hotel.property_id,))
        try:
            assert edge.worker is not None
            edge.worker.cycle()
            token = central.staff_token(hotel.property_id)
            yield Site(central, proxy, dataclasses.replace(hotel, node=edge), edge, token)
        finally:
            proxy.set("pass")
            edge.close()


def status_of(url: str, token: str) -> dict[str, object]:
    """The edge's `/sync/status`, over HTTP, as a logged-in staff member asks for it."""
    answer = httpx2.get(f"{url}/sync/status", headers=bearer(token), timeout=10)
    assert answer.status_code == 200, answer.text
    status: dict[str, object] = answer.json()
    return status


def shown(url: str, token: str) -> dict[str, str]:
    """What `yadori status` prints, as the table's rows: {what: value}."""
    result = CliRunner().invoke(cli, ["status", "--url", url, "--token", token])
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 4:  # │ what │ value │
            rows[cells[1]] = cells[2]
    assert rows, result.output
    return rows


def queued_in_three_lanes(hotel: Hotel) -> list[Mutation]:
    """A one-night booking, two charges to its folio and a room reported dirty, in that order."""
    folio = new_id()
    booking = c.CreateReservation(
        reservation_id=new_id(),
        folio_id=folio,
        guest_name="Walk-in Guest",
        arrival=TODAY,
        departure=TODAY + timedelta(days=1),
        adults=1,
        room_type_id=hotel.std,
        rate_plan_id=hotel.plan,
    )
    dirty = c.SetRoomCondition(room_id=hotel.rooms["103"], condition=Condition.DIRTY)
    return [
        hotel.run(booking).mutation,
        *(o.mutation for o in hotel.charges([1_200, 800], folio)),
        hotel.run(dirty).mutation,
    ]


def _at(value: object) -> datetime:
    assert isinstance(value, str), value
    return datetime.fromisoformat(value)


def test_status_shows_the_queue_by_lane_while_offline_and_drained_after_the_sync(
    site: Site,
) -> None:
    """WAN cut: the queue per lane is what was queued, with its oldest mutation and no push yet.
    WAN back: the monitor syncs, the queue shows empty, the push and pull just succeeded."""
    site.edge.start_sync()
    wait_until(lambda: site.monitor.snapshot().last_heartbeat_ok is not None, 10)
    site.proxy.set("cut")
    wait_until(lambda: site.monitor.state is LinkState.OFFLINE, 10)
    made = queued_in_three_lanes(site.hotel)
    lanes = Counter(str(int(m.priority)) for m in made)
    assert len(lanes) == 3
    with site.edge.engine.connect() as conn:
        created = conn.execute(
            sa.select(outbox.c.created_at).where(outbox.c.id == made[0].id)
        ).scalar_one()
    with served(site.edge) as url:
        offline = status_of(url, site.token)
        assert offline["link"] == "offline"
        assert offline["queue"] == dict(lanes)
        assert offline["pending"] == sum(lanes.values())
        assert _at(offline["oldest_pending"]) == created  # the booking's, queued first
        waited = (datetime.now(UTC) - created).total_seconds()
        assert 0 <= offline["oldest_pending_age_s"] <= waited + 1  # type: ignore[operator]
        assert offline["last_push_ok"] is None
        printed = shown(url, site.token)
        for lane, count in lanes.items():
            assert printed[f"queue: {LANE_NAMES[lane]}"] == str(count)
        assert printed["pending"] == str(sum(lanes.values()))
        assert printed["last push ok"] == "None"
        healed_at = datetime.now(UTC)
        site.proxy.set("pass")
        wait_until(lambda: site.edge.edge_store.pending_count() == 0, 15)  # type: ignore[union-attr]
        wait_until(lambda: site.monitor.state is LinkState.ONLINE, 15)
        online = status_of(url, site.token)
        printed = shown(url, site.token)
    assert online["link"] == "online"
    assert (online["queue"], online["pending"], online["oldest_pending"]) == ({}, 0, None)
    assert online["oldest_pending_age_s"] is None
    for name in ("last_push_ok", "last_pull_ok"):
        assert healed_at <= _at(online[name]) <= datetime.now(UTC), name
    assert not any(what.startswith("queue: ") for what in printed)
    assert printed["pending"] == "0"
    for name in ("last push ok", "last pull ok"):  # the monitor may have pulled again since
        assert healed_at <= _at(printed[name]) <= datetime.now(UTC), name


class _NotAnEdge(BaseHTTPRequestHandler):
    """Another service on the port: the same page (``BODY``, ``TYPE``) for every request."""

    BODY = b"<html><body>Router login</body></html>"
    TYPE = "text/html"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", self.TYPE)
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _JsonList(_NotAnEdge):
    """Another JSON service: a list, not an edge's status."""

    BODY = b"[1, 2]"
    TYPE = "application/json"


@pytest.mark.parametrize("handler", [_NotAnEdge, _JsonList], ids=["html", "json list"])
def test_status_of_something_that_is_not_an_edge_says_so_without_a_traceback(
    handler: type[_NotAnEdge],
) -> None:
    """`yadori status --url` pointed at another service: a clear message and exit 1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(cli, ["status", "--url", url, "--token", "t"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer's Exit, not a traceback
    assert "not a Yadori edge" in " ".join(result.output.split())


def test_status_counts_every_rejected_mutation_and_lists_the_latest_fifty(tmp_path: Path) -> None:
    """Sixty operations central rejected: the status counts sixty, lists the latest fifty, and
    reads them through the partial index, not the whole outbox."""
    provision_edge_keys(tmp_path / "keys" / "edge1", "edge1")  # staff can log in
    edge = edge_node(tmp_path, "http://127.0.0.1:9", ())
    try:
        hotel = build_hotel(edge)
        folio = hotel.folio_id(hotel.book())
        hotel.charges([100] * 70, folio)
        with edge.engine.begin() as conn:  # as if central had rejected the last sixty
            last = sa.select(outbox.c.seq).order_by(outbox.c.seq.desc()).limit(60).subquery()
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.seq.in_(sa.select(last.c.seq)))
                .values(state="done", result="rejected", reason="folio_closed: closed")
            )
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT count(*) FROM outbox "
                    "WHERE outbox.result = 'rejected'"
                )
            )
        assert "ix_outbox_rejected" in plan, plan
        monitor_on_fake(edge, _Silent())
        status = edge.sync_status()
        assert status["rejected_total"] == 60
        assert isinstance(status["rejected"], list)
        assert len(status["rejected"]) == 50
        with served(edge) as url:
            token = token_for(edge, hotel.property_id)
            assert shown(url, token)["rejected mutations"] == "60"
    finally:
        edge.close()


class _Silent:
    """A link that is down: the status is read offline."""

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, object]:
        raise LinkDown("GET /sync/v1/heartbeat: refused")

    def push(self, body: bytes, crc: int) -> dict[str, object]:
        raise LinkDown("POST /sync/v1/push: refused")

    def pull(self, params: dict[str, str | int]) -> dict[str, object]:
        raise LinkDown("GET /sync/v1/pull: refused")

    def abort(self) -> None:
        """Nothing is in flight."""
