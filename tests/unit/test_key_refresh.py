"""The edge's key list follows central's: fetched when the heartbeat's CRC changes, only then."""

from __future__ import annotations

from yadori.sync.canonical import JSON
from yadori.sync.errors import LinkDown
from yadori.sync.key_refresh import KeyRefresh


class FakeLink:
    """Central's key list, in memory."""

    def __init__(self) -> None:
        self.crc = 1
        self.fetches = 0
        self.fail_keys = False
        self.timeouts: list[float | None] = []

    def beat(self) -> dict[str, JSON]:
        """A heartbeat's answer, with the list's CRC."""
        return {"time_ms": 0, "hlc": "", "keys_crc": self.crc}

    def keys(self, timeout: float | None = None) -> dict[str, JSON]:
        """The list (or a link failure)."""
        self.fetches += 1
        self.timeouts.append(timeout)
        if self.fail_keys:
            raise LinkDown("cut")
        return {"keys": [{"kid": f"k{self.crc}"}]}


def test_fetches_only_when_the_crc_changes() -> None:
    """Same CRC: no fetch; a new CRC: one fetch, stored; a failed fetch is retried next beat."""
    link, stored = FakeLink(), []
    refresh = KeyRefresh(link, stored.append)
    refresh(link.beat(), 0.5)
    refresh(link.beat(), 0.5)
    assert (link.fetches, stored) == (1, [[{"kid": "k1"}]])
    link.crc, link.fail_keys = 2, True
    refresh(link.beat(), 0.5)
    assert len(stored) == 1
    link.fail_keys = False
    refresh(link.beat(), 0.5)
    assert stored[-1] == [{"kid": "k2"}]
    assert link.fetches == 3


def test_the_fetch_waits_no_longer_than_the_beat_did() -> None:
    """The beat's timeout reaches the key list's call: not the transport's 10 s (0054)."""
    link = FakeLink()
    KeyRefresh(link, lambda _: None)(link.beat(), 0.9)
    assert link.timeouts == [0.9]


def test_an_answer_without_a_crc_fetches_nothing() -> None:
    """An older central's heartbeat names no key list: nothing to follow."""
    link = FakeLink()
    KeyRefresh(link, lambda _: None)({"time_ms": 0, "hlc": ""}, 0.5)
    assert link.fetches == 0
