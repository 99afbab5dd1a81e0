"""Real nodes for sync tests: central as a `yadori central` process on PostgreSQL, edges
in process (or as processes) pointed at it, optionally through the fault proxy."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.fault_proxy import FaultProxy
from yadori.sync.connectivity import Timing


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
    try:
        wait_healthy(central.url, proc)
        yield central
    finally:
        central.stop()


FAST = Timing(
    heartbeat=0.2, heightened=0.1, heightened_for=1.0, backoff_first=0.05, backoff_cap=0.3
)


def edge_node(
    tmp_path: Path,
    central_url: str,
    properties: tuple[str, ...],
    *,
    name: str = "edge1",
    prefix: str = "E1",
    timing: Timing = FAST,
) -> Yadori:
    """An edge in process on its own SQLite file, syncing with ``central_url`` (not started)."""
    config = NodeConfig(
        "edge",
        name,
        prefix,
        f"sqlite:///{tmp_path / f'{name}.db'}",
        central_url=central_url,
        properties=properties,
        timing=timing,
    )
    return bootstrap(config)


@contextmanager
def proxy_to(central: CentralProcess) -> Iterator[FaultProxy]:
    """A fault proxy in front of central."""
    proxy = FaultProxy("127.0.0.1", central.port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
