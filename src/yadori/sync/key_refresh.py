"""The edge's copy of central's key list, refreshed when a heartbeat says it changed.

Every heartbeat answer carries the CRC32 of central's key list; when it differs from the one
the edge holds, the edge fetches the list (revocations included) before the next heartbeat. A
revoked key is thus refused at the edge within about a second of central revoking it, online.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncError

log = logging.getLogger("yadori.sync")


class KeyLink(Protocol):
    """The calls this needs of the transport."""

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """Central's time, HLC and key list CRC (waiting ``timeout`` seconds at most a step)."""
        ...

    def keys(self) -> dict[str, JSON]:
        """Central's key list."""
        ...

    def abort(self) -> None:
        """Fail every call in flight."""
        ...


class KeyRefresh:
    """A heartbeat that also keeps the edge's key list current (the monitor's link)."""

    def __init__(self, link: KeyLink, store: Callable[[list[JSON]], None]) -> None:
        self._link = link
        self._store = store
        self._crc: JSON = None

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """Beat; fetch and store the key list when its CRC changed."""
        answer = self._link.heartbeat(origin, timeout)
        crc = answer.get("keys_crc")
        if crc is not None and crc != self._crc:
            try:
                keys = self._link.keys().get("keys")
            except SyncError as exc:  # the beat itself went through: try again next time
                log.warning("could not fetch the key list: %s", exc)
                return answer
            if isinstance(keys, list):
                self._store(keys)
                self._crc = crc
        return answer

    def abort(self) -> None:
        """Fail every call in flight."""
        self._link.abort()
