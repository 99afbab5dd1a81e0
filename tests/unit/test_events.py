"""The event hub behind the staff banner's server-sent events."""

from __future__ import annotations

from yadori.sync import events
from yadori.sync.events import EventHub


def test_subscribers_get_the_latest_of_each_kind_then_new_events() -> None:
    """A new subscriber sees the current link state at once, then every change."""
    hub = EventHub()
    hub.publish("link", {"state": "online"})
    hub.publish("link", {"state": "offline"})
    q = hub.subscribe()
    assert q.get_nowait() == {"event": "link", "data": {"state": "offline"}}
    hub.publish("queue", {"pending": 3})
    assert q.get_nowait()["event"] == "queue"
    hub.unsubscribe(q)
    hub.unsubscribe(q)
    hub.publish("queue", {"pending": 4})
    assert q.empty()


def test_a_slow_subscriber_drops_its_oldest_events(monkeypatch: object) -> None:
    """The backlog is bounded: a stalled browser never grows memory without limit."""
    hub = EventHub()
    q = hub.subscribe()
    for n in range(events.MAX_BACKLOG + 5):
        hub.publish("queue", {"pending": n})
    assert q.qsize() == events.MAX_BACKLOG
    assert q.get_nowait()["data"] == {"pending": 5}


def test_news_reaches_those_listening_and_is_not_replayed_to_later_ones() -> None:
    """A rejection is told to every subscriber as it happens; one that connects later (a banner
    reconnecting days after) starts with the link's state, not with old news."""
    hub = EventHub()
    listening = hub.subscribe()
    hub.publish("link", {"state": "online"})
    hub.publish("rejected", {"mutations": [{"mutation_id": "m1", "reason": "unknown_folio"}]})
    assert [e["event"] for e in (listening.get_nowait(), listening.get_nowait())] == [
        "link",
        "rejected",
    ]
    later = hub.subscribe()
    assert later.get_nowait() == {"event": "link", "data": {"state": "online"}}
    assert later.empty()
