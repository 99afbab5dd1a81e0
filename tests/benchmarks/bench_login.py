"""Staff login latency, online (the edge asks central) and offline (the edge alone).

Real processes on loopback: `yadori central` on PostgreSQL, the fault proxy, and an enrolled
`yadori edge` behind it. Online, a login at the edge is a local lockout check, a call to central
(argon2 verification, signing, the audit command) and the token's check at the edge. Offline
(the proxy cut), the edge verifies the PIN against its cached hash, signs with its own key and
writes the audit command to its outbox. Target (issue 4): p99 < 150 ms offline.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx2
import psycopg
from results import Metric, median, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests dir, for support/

from bench_sync import PG_ADMIN, _cpu_of, _pg_url, database

from support.auth import PIN, add_staff
from support.hotel import build_hotel
from support.nodes import central_process, free_port, proxy_to, wait_healthy
from yadori.auth.roles import Role
from yadori.bootstrap import NodeConfig, bootstrap
from yadori.cli.enrol import enroll, enrolment_token

LOGINS = 200
WARM_UP = 10


def run(workdir: Path) -> list[Metric]:
    """Log the same front-desk member in LOGINS times online, then LOGINS times offline."""
    with database() as name:
        db = _pg_url(name)
        node = bootstrap(
            NodeConfig("central", "central", "C", db, key_dir=str(workdir / "central-keys"))
        )
        hotel = build_hotel(node)
        member = add_staff(node, hotel.property_id, Role.FRONT_DESK, code="FD01")
        code = node.directory.codes_by_id()[hotel.property_id]
        node.close()
        with central_process(db, workdir) as central, proxy_to(central) as proxy:
            token, _ = enrolment_token(db, "edge1", (hotel.property_id,), timedelta(hours=1))
            enroll(
                "edge1",
                workdir / "keys" / "edge1",
                f"sqlite:///{workdir / 'edge1.db'}",
                proxy.url,
                token,
            )
            port = free_port()
            env = {
                **os.environ,
                "YADORI_DATA_DIR": str(workdir),
                "YADORI_NODE_ID": "edge1",
                "YADORI_DB_URL": f"sqlite:///{workdir / 'edge1.db'}",
                "YADORI_PORT": str(port),
                "YADORI_LOG_LEVEL": "warning",
                "YADORI_HEARTBEAT_SECONDS": "0.2",
                "YADORI_BACKOFF_CAP_SECONDS": "0.3",
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "yadori.cli", "edge"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_healthy(base, proc)
                with httpx2.Client(base_url=base, timeout=10) as client:
                    url = f"/api/v1/properties/{code}/auth/login"
                    body = {"staff_code": member.code, "pin": PIN}
                    _until(lambda: client.post(url, json=body).status_code == 200)
                    before = _checkpoints()
                    pids = {"central": central.proc.pid, "edge": proc.pid}
                    online = _logins(client, url, body, offline=False, pids=pids)
                    after = _checkpoints()
                    print(
                        f"  login online: PostgreSQL checkpoints meanwhile {after[0] - before[0]}, "
                        f"buffers they wrote {after[1] - before[1]}",
                        flush=True,
                    )
                    proxy.set("cut")
                    _until(lambda: client.post(url, json=body).json().get("offline") is True)
                    offline = _logins(client, url, body, offline=True, pids=pids)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    return [
        Metric("login p50, online (edge → central)", median(online), "ms", 150, "lower", "R-SYS-1"),
        Metric(
            "login p99, online (edge → central)",
            percentile(online, 99),
            "ms",
            150,
            "lower",
            "R-SYS-1",
        ),
        Metric("login p50, offline (edge alone)", median(offline), "ms", 150, "lower", "R-SYS-1"),
        Metric(
            "login p99, offline (edge alone)",
            percentile(offline, 99),
            "ms",
            150,
            "lower",
            "R-SYS-1",
        ),
    ]


def _logins(
    client: httpx2.Client,
    url: str,
    body: dict[str, str],
    *,
    offline: bool,
    pids: dict[str, int],
) -> list[float]:
    samples = []
    collected: list[float] = []  # this process's garbage collections, ms each, during a sample
    started_gc = [0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started_gc[0] = time.perf_counter_ns()
        else:
            collected.append((time.perf_counter_ns() - started_gc[0]) / 1e6)

    slowest: list[tuple[float, int, str]] = []  # ms, sample, what the machine did meanwhile
    gc.callbacks.append(watch)
    try:
        for n in range(WARM_UP + LOGINS):
            collected.clear()
            machine, cpu = _machine(), {name: _cpu_of(pid) for name, pid in pids.items()}
            started = time.perf_counter_ns()
            answer = client.post(url, json=body)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            answer.raise_for_status()
            assert answer.json()["offline"] is offline, answer.text
            if n >= WARM_UP:
                samples.append(elapsed)
                if len(slowest) < 3 or elapsed > slowest[-1][0]:
                    spent = _machine_since(machine)
                    spent.update(
                        {f"{k} CPU": (_cpu_of(pid) - cpu[k]) * 1000 for k, pid in pids.items()}
                    )
                    spent["GC here"] = sum(collected)
                    told = ", ".join(f"{k} {v:.0f}" for k, v in spent.items())
                    slowest = sorted([*slowest, (elapsed, n, told)], reverse=True)[:3]
    finally:
        gc.callbacks.remove(watch)
    # The slowest logins, with what the machine and the processes did meanwhile (ms): a full run
    # showed a p99 several times a lone run's (see the issue note). The machine's figures are
    # summed over its cores, in ticks of 10 ms.
    told = "; ".join(f"#{n} {ms:.0f} ms ({what})" for ms, n, what in slowest)
    print(f"  login {'offline' if offline else 'online'}: slowest {told}", flush=True)
    return samples


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _machine() -> dict[str, int]:
    """The machine's CPU time so far by kind, in ticks (the first line of /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return dict(zip(_CPU_FIELDS, map(int, fields), strict=False))


def _machine_since(before: dict[str, int]) -> dict[str, float]:
    """What the machine's cores did since ``before``, ms by kind (only kinds that moved)."""
    now = _machine()
    spent = {k: (now[k] - before[k]) * _TICK_MS for k in ("iowait", "steal", "user", "system")}
    return {k: v for k, v in spent.items() if v or k in ("user", "system")}


def _checkpoints() -> tuple[int, int]:
    """PostgreSQL's checkpoints so far (timed and asked for) and the buffers they wrote."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _until(done: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError("the edge never got there")
