"""Events for the staff UI banner: a thread-safe hub that server-sent-event streams subscribe to."""

from __future__ import annotations

import queue
import threading

from yadori.sync.canonical import JSON

MAX_BACKLOG = 1_000
# News, not state: not replayed to a subscriber that connects later (a banner reconnecting
# would show a rejection of days ago as new). The status lists them all.
NEWS = frozenset({"rejected"})


class EventHub:
    """Fans events out to every subscriber; a slow subscriber drops its oldest events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue[dict[str, JSON]]] = []
        self.last: dict[str, dict[str, JSON]] = {}

    def publish(self, kind: str, data: dict[str, JSON]) -> None:
        """Send an event of a kind (``link``, ``queue``, ``alert``, ``rejected``) to all."""
        event: dict[str, JSON] = {"event": kind, "data": data}
        with self._lock:
            if kind not in NEWS:
                self.last[kind] = event
            subscribers = list(self._subscribers)
        for q in subscribers:
            if q.qsize() >= MAX_BACKLOG:
                q.get_nowait()
            q.put_nowait(event)

    def subscribe(self) -> queue.Queue[dict[str, JSON]]:
        """A new subscription that starts with the latest event of each kind (not news)."""
        q: queue.Queue[dict[str, JSON]] = queue.Queue()
        with self._lock:
            for event in self.last.values():
                q.put_nowait(event)
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, JSON]]) -> None:
        """End a subscription."""
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)
