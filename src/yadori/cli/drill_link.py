"""The link between the edge and central, as the edge reports it to the outage drill.

The drill times how long the edge takes to notice a cut and a restore: it listens to the edge's
server-sent events for each link transition, and polls the edge's sync status until a
condition holds (offline, or online with nothing left to send).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx2

from yadori.cli.demo_day import DemoFailed

POLL = 0.05


class LinkWatcher:
    """Listens to the edge's server-sent events and keeps each link transition with its time."""

    def __init__(self, edge_url: str, headers: dict[str, str] | None = None) -> None:
        self._url = f"{edge_url}/events"
        self._client = httpx2.Client(timeout=httpx2.Timeout(5, read=None), headers=headers)
        self._lock = threading.Lock()
        self._seen: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._listen, name="drill-events", daemon=True)
        self._connected = threading.Event()

    def start(self) -> LinkWatcher:
        """Subscribe (returns once the stream is open, or after a few seconds)."""
        self._thread.start()
        self._connected.wait(5)
        return self

    def stop(self) -> None:
        """Close the stream."""
        with contextlib.suppress(Exception):
            self._client.close()

    def first(self, state: str, after: float) -> float | None:
        """When the link first became ``state`` at or after ``after`` (epoch seconds)."""
        with self._lock:
            return next((at for at, s in self._seen if s == state and at >= after), None)

    def _listen(self) -> None:
        with contextlib.suppress(Exception), self._client.stream("GET", self._url) as response:
            kind = ""
            for line in response.iter_lines():
                self._connected.set()
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:") and kind == "link":
                    self._link(json.loads(line.removeprefix("data:")))

    def _link(self, data: dict[str, Any]) -> None:
        at = datetime.fromisoformat(data["at"]).timestamp()
        with self._lock:
            self._seen.append((at, str(data["state"])))


def sync_status(client: httpx2.Client) -> dict[str, Any]:
    """The edge's /sync/status."""
    answer: dict[str, Any] = client.get("/sync/status").json()
    return answer


def wait_until(
    client: httpx2.Client,
    done: Callable[[dict[str, Any]], bool],
    *,
    seconds: float,
    what: str,
    each: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll the edge's sync status until ``done`` holds; DemoFailed after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        status = sync_status(client)
        if each is not None:
            each(status)
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: not within {seconds:.0f} s (last status {status})")
        time.sleep(POLL)


def synced(status: dict[str, Any]) -> bool:
    """Online with nothing waiting for central."""
    return status.get("link") == "online" and status.get("pending") == 0
