"""The edge's key list follows central's: fetched when the heartbeat's CRC changes, only then."""

from __future__ import annotations

from yadori.sync.canonical import JSON
from yadori.sync.errors import LinkDown
from yadori.sync.key_refresh import KeyRefresh


class FakeLink:
    """Central's heartbeat and key list, in memory."""

    def __init__(self) -> None:
        self.crc = 1
        self.fetches = 0
        self.fail_keys = False
        self.aborted = False
        self.timeouts: list[float | None] = []

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """A beat with the list's CRC."""
        self.timeouts.append(timeout)
        return {"time_ms": 0, "hlc": "", "keys_crc": self.crc}

    def keys(self) -> dict[str, JSON]:
        """The list (or a link failure)."""
        self.fetches += 1
        if self.fail_keys:
            raise LinkDown("cut")
        return {"keys": [{"kid": f"k{self.crc}"}]}

    def abort(self) -> None:
        """Calls in flight fail."""
        self.aborted = True


def test_fetches_only_when_the_crc_changes() -> None:
    """Same CRC: no fetch; a new CRC: one fetch, stored; a failed fetch is retried next beat."""
    link, stored = FakeLink(), []
    refresh = KeyRefresh(link, stored.append)
    refresh.heartbeat("e1")
    refresh.heartbeat("e1")
    assert (link.fetches, stored) == (1, [[{"kid": "k1"}]])
    link.crc, link.fail_keys = 2, True
    assert refresh.heartbeat("e1")["keys_crc"] == 2
    link.fail_keys = False
    refresh.heartbeat("e1")
    assert stored[-1] == [{"kid": "k2"}]
    assert link.fetches == 3
    refresh.abort()
    assert link.aborted


def test_the_beat_waits_as_long_as_the_monitor_says() -> None:
    """The monitor's timeout reaches the transport (decision 0045)."""
    link = FakeLink()
    refresh = KeyRefresh(link, lambda _: None)
    refresh.heartbeat("e1", 0.9)
    refresh.heartbeat("e1")
    assert link.timeouts == [0.9, None]
