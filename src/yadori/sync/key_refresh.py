"""The edge's copy of central's key list, refreshed when a heartbeat says it changed.

Every heartbeat answer carries the CRC32 of central's key list; when it differs from the one
the edge holds, the edge fetches the list (revocations included) before the next heartbeat. A
revoked key is thus refused at the edge within about a second of central revoking it, online.

The fetch follows the beat (the monitor's ``after_beat``), it is not part of it: the beat's
round trip and the clock skew are measured on the heartbeat alone, and the fetch waits no
longer than the beat did, so a link that fails right after a beat holds the heartbeat thread
for one beat's timeout, not the transport's 10 s (decision 0054).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncError

log = logging.getLogger("yadori.sync")


class KeyLink(Protocol):
    """The call this needs of the transport."""

    def keys(self, timeout: float | None = None) -> dict[str, JSON]:
        """Central's key list (waiting ``timeout`` seconds at most a step)."""
        ...


class KeyRefresh:
    """Keeps the edge's key list current: the monitor calls it after every answered beat."""

    def __init__(self, link: KeyLink, store: Callable[[list[JSON]], None]) -> None:
        self._link = link
        self._store = store
        self._crc: JSON = None
        self._error: str | None = None  # the last fetch's failure, logged once

    def __call__(self, answer: dict[str, JSON], timeout: float) -> None:
        """Fetch and store the key list when the beat's ``answer`` names a CRC not held.

        A failed fetch is retried after the next beat (the CRC still differs).
        """
        crc = answer.get("keys_crc")
        if crc is None or crc == self._crc:
            return
        try:
            keys = self._link.keys(timeout).get("keys")
        except SyncError as exc:  # the beat itself went through: try again after the next
            if str(exc) != self._error:  # once per distinct failure, not once a second
                log.warning("could not fetch the key list: %s", exc)
            self._error = str(exc)
            return
        self._error = None
        if isinstance(keys, list):
            self._store(keys)
            self._crc = crc
