"""Login and trust flows with a real central process: forwarded logins, rotation, revocation,
the console commands, and an edge that is not enrolled yet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from support.auth import PIN, add_staff
from support.hotel import Hotel, build_hotel
from support.nodes import FAST, CentralProcess, central_process, edge_node, node_bearer
from support.sync import wait_until
from yadori.auth import errors as e
from yadori.auth import keys
from yadori.auth.roles import Role
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.enrol import rotate
from yadori.cli.main import app as cli
from yadori.domain.staff import Staff
from yadori.storage.engine import make_engine
from yadori.storage.tables import login_attempts, node_keys
from yadori.sync.connectivity import LinkState
from yadori.sync.errors import SyncRefused

pytestmark = [pytest.mark.postgres]
runner = CliRunner()


@dataclass
class Site:
    """Central as a process with the hotel and a front-desk member; its database."""

    central: CentralProcess
    hotel: Hotel
    desk: Staff
    tmp: Path

    def edge(self) -> Yadori:
        """An enrolled edge that has pulled the hotel."""
        node = edge_node(self.tmp, self.central.url, (self.hotel.property_id,))
        assert node.worker is not None
        node.worker.cycle()
        return node

    def rows(self, query: sa.Select[tuple[object, ...]]) -> list[sa.Row[tuple[object, ...]]]:
        """Rows of central's database."""
        engine = make_engine(self.central.db_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(query).all())
        finally:
            engine.dispose()


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL database, its keys where the process will find them."""
    node = bootstrap(
        NodeConfig("central", "central", "C", pg_url, key_dir=str(tmp_path / "central-keys"))
    )
    hotel = build_hotel(node)
    desk = add_staff(node, hotel.property_id, Role.FRONT_DESK)
    node.close()
    with central_process(pg_url, tmp_path) as central:
        yield Site(central, hotel, desk, tmp_path)


def test_online_login_at_an_edge_is_signed_and_logged_by_central(site: Site) -> None:
    """An online edge forwards the login: central's kid, and central's audit row names the edge;
    a wrong PIN forwarded is refused as central said."""
    edge = site.edge()
    try:
        assert edge.auth is not None
        login = edge.auth.login(site.hotel.property_id, site.desk.code, PIN)
        assert (login.claims.issuer, login.claims.offline) == ("central", False)
        with pytest.raises(e.InvalidCredentials):
            edge.auth.login(site.hotel.property_id, site.desk.code, "000000")
        offline = edge.auth.login_here(site.hotel.property_id, site.desk.code, PIN, node="edge1")
        assert (offline.claims.issuer, offline.claims.offline) == ("edge1", True)
    finally:
        edge.close()
    rows = site.rows(
        sa.select(login_attempts.c.outcome, login_attempts.c.node).where(
            login_attempts.c.staff_id == site.desk.id
        )
    )
    assert sorted((r.outcome, r.node) for r in rows) == [("bad_pin", "edge1"), ("success", "edge1")]


def test_rotation_retires_the_old_key_and_the_new_one_syncs(site: Site) -> None:
    """After `rotate-key` the old key can no longer call central; the restarted edge, on its new
    key, pushes and pulls."""
    edge = site.edge()
    old = edge.node_key
    assert old is not None
    key_dir = site.tmp / "keys" / "edge1"
    new_kid = rotate(edge, key_dir)
    edge.close()
    assert new_kid != old.kid
    statuses = dict(site.rows(sa.select(node_keys.c.kid, node_keys.c.status)))  # type: ignore[arg-type]
    assert (statuses[old.kid], statuses[new_kid]) == ("retired", "active")
    beat = httpx2.get(f"{site.central.url}/sync/v1/heartbeat", headers=node_bearer(old))
    assert beat.json()["code"] == "node_unauthenticated"
    again = site.edge()
    try:
        assert again.node_key is not None
        assert again.node_key.kid == new_kid
    finally:
        again.close()


def test_a_revoked_edge_can_no_longer_sync(site: Site) -> None:
    """Once an admin revokes its key, the edge's push is refused for good (not a link error)."""
    edge = site.edge()
    try:
        assert edge.node_key is not None
        admin = site.central.staff_headers(site.hotel.property_id)
        code = edge.directory.codes()[0]
        url = f"{site.central.url}/api/v1/properties/{code}/admin/keys/{edge.node_key.kid}/revoke"
        assert httpx2.post(url, headers=admin).status_code == 200
        listed = httpx2.get(
            f"{site.central.url}/api/v1/properties/{code}/admin/keys", headers=admin
        ).json()
        assert {k["kid"]: k["status"] for k in listed}[edge.node_key.kid] == "revoked"
        assert edge.worker is not None
        with pytest.raises(SyncRefused, match="node_unauthenticated"):
            edge.worker.cycle()
        # running, its monitor tells IT at once, with central's reason (not an outage later)
        assert edge.edge_store is not None
        store = edge.edge_store
        edge.start_sync()
        wait_until(lambda: any(a["kind"] == "sync_refused" for a in store.alerts()), 10)
        time.sleep(2)  # more beats, more syncs refused: still one alert, for one cause
        refused = [a["message"] for a in store.alerts() if a["kind"] == "sync_refused"]
        assert len(refused) == 1, refused
        assert "node_unauthenticated" in str(refused[0]), refused
    finally:
        edge.close()


def test_an_edge_not_enrolled_cannot_log_anyone_in(tmp_path: Path) -> None:
    """Without its key and pepper an edge refuses logins with a clear error."""
    node = bootstrap(NodeConfig("edge", "e9", "E9", f"sqlite:///{tmp_path / 'e9.db'}"))
    try:
        assert node.auth is not None
        assert not node.auth.ready
        with pytest.raises(e.NodeUnauthenticated, match="enroll"):
            node.auth.login_here("p", "FD01", "1234", node="e9")
    finally:
        node.close()


def test_an_edge_not_enrolled_stays_offline_and_says_why(site: Site, tmp_path: Path) -> None:
    """An edge pointed at central but never enrolled has no key: its heartbeat has nothing to
    test, and each of its calls would be refused. It is offline from the first beat, told
    once (``sync_refused``, naming the command to run), and stays so. Before, central answered
    its token-less heartbeats, so the edge flipped offline, recovering, offline at every
    refused sync."""
    node = bootstrap(
        NodeConfig(
            "edge", "e9", "E9", f"sqlite:///{tmp_path / 'e9.db'}",
            central_url=site.central.url, timing=FAST, properties=(site.hotel.property_id,),
        )
    )  # fmt: skip
    try:
        assert node.edge_store is not None
        assert node.monitor is not None
        events = node.events.subscribe()
        node.start_sync()
        store, monitor = node.edge_store, node.monitor
        wait_until(lambda: any(a["kind"] == "sync_refused" for a in store.alerts()), 10)
        time.sleep(2)  # many more beats
        assert monitor.state is LinkState.OFFLINE
        states = [e["data"]["state"] for e in list(events.queue) if e["event"] == "link"]  # type: ignore[index]
        assert states == ["offline"]
        (refused,) = [a["message"] for a in store.alerts() if a["kind"] == "sync_refused"]
        assert "yadori edge enroll" in str(refused)
    finally:
        node.close()


def test_console_commands(site: Site, tmp_path: Path) -> None:
    """`enrolment-token`, `edge enroll` (refused for a wrong token, then enrolled), `add-staff`."""
    made = runner.invoke(
        cli,
        ["enrolment-token", "--db", site.central.db_url, "--node", "tky9", *_prop(site)],
    )
    assert made.exit_code == 0, made.output
    token = made.output.split()[0]
    data = ["--data-dir", str(tmp_path / "hotel"), "--node-id", "tky9"]
    refused = runner.invoke(
        cli, ["edge", *data, "enroll", "--central", site.central.url, "--token", "nope"]
    )
    assert refused.exit_code == 1
    assert "enrolment_refused" in refused.output
    enrolled = runner.invoke(
        cli, ["edge", *data, "enroll", "--central", site.central.url, "--token", token]
    )
    assert enrolled.exit_code == 0, enrolled.output
    assert keys.load(tmp_path / "hotel" / "keys" / "tky9", "tky9") is not None
    added = runner.invoke(
        cli,
        [
            *("add-staff", "--db", site.central.db_url, "--data-dir", str(site.tmp)),
            *(*_prop(site), "--code", "AD77", "--name", "Admin", "--role", "admin"),
            *("--pin", "7777"),
        ],
        env={"YADORI_KEY_DIR": str(site.central.key_dir)},
    )
    assert added.exit_code == 0, added.output
    login = httpx2.post(
        f"{site.central.url}/api/v1/properties/{_code(site)}/auth/login",
        json={"staff_code": "AD77", "pin": "7777"},
    )
    assert login.status_code == 200, login.text


def _prop(site: Site) -> tuple[str, str]:
    return ("--property", site.hotel.property_id)


def _code(site: Site) -> str:
    from yadori.storage.tables import properties

    (row,) = site.rows(
        sa.select(properties.c.code).where(properties.c.id == site.hotel.property_id)
    )
    return str(row.code)
