"""Real nodes for sync tests: central as a `yadori central` process on PostgreSQL, edges
in process (or as processes) pointed at it, optionally through the fault proxy."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import httpx2

from support.auth import PIN, add_staff, bearer
from yadori.auth import keys
from yadori.auth.keys import NodeKey
from yadori.auth.roles import Role
from yadori.auth.tokens import issue_node
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.enrol import enroll, enrolment_token
from yadori.cli.fault_proxy import FaultProxy
from yadori.sync.connectivity import Timing
from yadori.sync.monitor import Monitor
from yadori.sync.monitor_ports import AfterBeat, Heartbeat, OutageLog, PatientLink, Thresholds
from yadori.sync.sync_ports import Transport
from yadori.sync.worker import SyncWorker

CENTRAL_DBS: dict[str, str] = {}
"""Central's database by the URL edges reach it at (itself or a proxy): edges enrol there."""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes] | None = None, seconds: float = 30
) -> None:
    """Return once ``url``/health answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


@dataclass
class CentralProcess:
    """A running `yadori central`."""

    db_url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """Its address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_dir(self) -> Path:
        """Where its key and PIN pepper live."""
        return self.log.parent / "central-keys"

    def staff_token(self, property_id: str, role: Role = Role.ADMIN) -> str:
        """Log a new staff member of that role in at central, over HTTP, as head office would."""
        node = bootstrap(
            NodeConfig(
                "central", "central", "C", self.db_url, migrate=False, key_dir=str(self.key_dir)
            )
        )
        try:
            member = add_staff(node, property_id, role)
            code = node.directory.codes_by_id()[property_id]
        finally:
            node.close()
        response = httpx2.post(
            f"{self.url}/api/v1/properties/{code}/auth/login",
            json={"staff_code": member.code, "pin": PIN},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def staff_headers(self, property_id: str, role: Role = Role.ADMIN) -> dict[str, str]:
        """The Authorization header of a new staff member logged in at central."""
        return bearer(self.staff_token(property_id, role))

    def kill(self) -> None:
        """SIGKILL it (a crash)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        """Start it again on the same database and port."""
        self.proc = _spawn_central(self.db_url, self.port, self.log)
        wait_healthy(self.url, self.proc)

    def stop(self) -> None:
        """Stop it cleanly (uvicorn exits 143 or 0 after SIGTERM: both are normal)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn_central(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YADORI_KEY_DIR": str(log.parent / "central-keys"),
        "YADORI_DB_URL": db_url,
        "YADORI_PORT": str(port),
        "YADORI_NODE_ID": "central",
        "YADORI_NODE_PREFIX": "C",
        "YADORI_LOG_LEVEL": "warning",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    with log.open("ab") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "yadori.cli", "central"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def central_process(db_url: str, tmp_path: Path) -> Iterator[CentralProcess]:
    """A central process on ``db_url`` (migrated by its own start), stopped afterwards."""
    port = free_port()
    log = tmp_path / "central.log"
    proc = _spawn_central(db_url, port, log)
    central = CentralProcess(db_url, port, proc, log)
    CENTRAL_DBS[central.url] = db_url
    try:
        wait_healthy(central.url, proc)
        yield central
    finally:
        CENTRAL_DBS.pop(central.url, None)
        central.stop()


FAST = Timing(
    heartbeat=0.2, heightened=0.1, heightened_for=1.0, backoff_first=0.05, backoff_cap=0.3
)


class FakeLink(Heartbeat, Transport, Protocol):
    """A fake central: the heartbeat, push and pull of a link, in process."""


def monitor_on_fake(
    edge: Yadori,
    link: FakeLink,
    *,
    thresholds: Thresholds | None = None,
    patient: PatientLink | None = None,
    clock: Callable[[], float] = time.monotonic,
    after_beat: AfterBeat | None = None,
    properties: tuple[str, ...] = (),
    log_store: OutageLog | None = None,
) -> Monitor:
    """Start an edge's monitor (at FAST timing) on a fake link; the edge's close() stops it.

    The worker pulls ``properties`` (none by default: a fake link has no feed to pull). The
    outages and alerts go to ``log_store`` if given, else to the edge's store.
    """
    assert edge.edge_store is not None
    worker = SyncWorker(
        edge.edge_store,
        link,
        origin=edge.config.node_id,
        properties=lambda: list(properties),
        hlc=edge.bus.hlc,
        now=lambda: datetime.now(UTC),
    )
    edge.monitor = Monitor(
        worker,
        link,
        log_store or edge.edge_store,
        edge.events,
        edge.bus.hlc,
        origin=edge.config.node_id,
        timing=FAST,
        thresholds=thresholds,
        patient=patient,
        clock=clock,
        after_beat=after_beat,
    )
    edge.monitor.start()
    return edge.monitor


def edge_node(
    tmp_path: Path,
    central_url: str,
    properties: tuple[str, ...],
    *,
    name: str = "edge1",
    prefix: str = "E1",
    timing: Timing = FAST,
) -> Yadori:
    """An edge in process on its own SQLite file, syncing with ``central_url`` (not started).

    When central is one of the test's (``CENTRAL_DBS``), the edge enrols with it first, as
    `yadori edge enroll` would, with a one-time token made at central's console.
    """
    db_url = f"sqlite:///{tmp_path / f'{name}.db'}"
    key_dir = tmp_path / "keys" / name
    central_db = CENTRAL_DBS.get(central_url)
    if central_db is not None and not (key_dir / "node.pem").exists():
        token, _ = enrolment_token(central_db, name, properties, timedelta(minutes=5))
        enroll(name, key_dir, db_url, central_url, token)
    config = NodeConfig(
        "edge",
        name,
        prefix,
        db_url,
        central_url=central_url,
        properties=properties,
        timing=timing,
        key_dir=str(key_dir),
    )
    return bootstrap(config)


def enrol_key(central: CentralProcess, node_id: str, properties: tuple[str, ...]) -> NodeKey:
    """A key for ``node_id`` enrolled with central over HTTP (for tests that push by hand)."""
    key = keys.generate(node_id)
    token, _ = enrolment_token(central.db_url, node_id, properties, timedelta(minutes=5))
    answer = httpx2.post(
        f"{central.url}/sync/v1/enrol",
        json={"token": token, "node_id": node_id, "public_key": key.public_pem()},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return key


def node_bearer(key: NodeKey) -> dict[str, str]:
    """A fresh node token's header for an enrolled key."""
    return bearer(issue_node(key, datetime.now(UTC)))


@contextmanager
def proxy_to(central: CentralProcess) -> Iterator[FaultProxy]:
    """A fault proxy in front of central."""
    proxy = FaultProxy("127.0.0.1", central.port).start()
    CENTRAL_DBS[proxy.url] = central.db_url
    try:
        yield proxy
    finally:
        CENTRAL_DBS.pop(proxy.url, None)
        proxy.stop()
