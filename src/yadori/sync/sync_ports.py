"""The sync worker's ports, and what it reports.

What the worker (worker.py) needs of the edge's database and of the link to central, its
settings, and the report of a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from yadori.sync import canonical
from yadori.sync.batching import Pending
from yadori.sync.canonical import JSON
from yadori.sync.protocol import MAX_BATCH_BYTES, PulledChange, PulledResult


class Store(Protocol):
    """What the worker needs from the edge's database (storage/edge_sync.py)."""

    def pending(self, window: int) -> list[Pending]:
        """The front of the queue (``window`` mutations by lane) and its pending dependencies."""
        ...

    def encoded_items(self, ids: list[str]) -> list[bytes]:
        """The batch items of those mutations, encoded (``protocol.encode_item``)."""
        ...

    def has_unsent(self) -> bool:
        """Whether anything waits to be pushed."""
        ...

    def unsent_beyond(self, n: int) -> bool:
        """Whether more than ``n`` mutations wait to be pushed."""
        ...

    def pending_count(self) -> int:
        """Mutations waiting for central's result."""
        ...

    def damaged(self, ids: list[str]) -> list[str]:
        """Those of the queued mutations that are damaged at rest."""
        ...

    def set_aside_since(self, since: datetime) -> int:
        """How many queued mutations were set aside (damaged, or too large) since then."""
        ...

    def set_aside(self, ids: list[str], why: Aside) -> SetAside:
        """Take mutations out of the queue, rejected for ``why``, each with an alert.

        What they touched is stored in that transaction, under ``REPUBLISH`` keys of the state,
        for central to publish again (decision 0064).
        """
        ...

    def republished(self, property_id: str, keys: list[str]) -> None:
        """Central marked these aggregates of the property to publish again: ask no more."""
        ...

    def mark_sent(self, ids: list[str], state: dict[str, str] | None = None) -> None:
        """Central answered for these; ``state`` is stored in the same transaction."""
        ...

    def renumber(self, ids: list[str], above: int) -> Renumbered:
        """Number these waiting mutations again, after ``above`` (central's highest seq)."""
        ...

    def has_sent(self) -> bool:
        """Whether central answered for mutations whose results were not pulled yet."""
        ...

    def reset_sent(self) -> None:
        """Queue again what was sent but whose result never came."""
        ...

    def apply_pull(
        self,
        changes: list[PulledChange],
        results: list[PulledResult],
        state: dict[str, str],
        *,
        final: bool = True,
        sent: list[str] | None = None,
    ) -> int:
        """Apply a pulled page in one transaction (set it aside unless it is the last).

        ``sent`` are marked sent in that transaction.
        """
        ...

    def state(self) -> dict[str, str]:
        """Stored sync values."""
        ...


class Transport(Protocol):
    """What the worker needs from the link to central (sync/http_transport.py)."""

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Send a batch."""
        ...

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        """Pull a page."""
        ...

    def republish(self, property_id: str, keys: list[str]) -> dict[str, JSON]:
        """Ask central to publish these aggregates again, for the next pull (decision 0064)."""
        ...


@runtime_checkable
class RidingTransport(Protocol):
    """A transport that can ask for the first pull page with a push (decision 0049).

    Only this method is looked for (``isinstance``), so a transport need not have the rest of
    ``Transport`` to ride. It must define the method (a class attribute): from Python 3.12 on,
    ``isinstance`` does not see a method that ``__getattr__`` forwards.
    """

    def push_pulling(self, body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        """Send a batch; the answer also carries the pull page ``params`` ask for, if any."""
        ...


@dataclass(frozen=True, slots=True)
class Renumbered:
    """Queued mutations numbered again (decision 0059).

    Each one's id, old seq and new seq; when; and the alerts recorded (kind and message).
    """

    moved: list[tuple[str, int, int]]
    at: datetime
    alerts: list[dict[str, str]]


DAMAGED = "damaged_at_edge"  # the reason's code for a mutation damaged at rest (0051)
TOO_LARGE = "too_large_to_send"  # for one larger than a whole batch may carry (0063)
SET_ASIDE_CODES = (DAMAGED, TOO_LARGE)  # every mutation set aside counts towards the brake
# The state's names for what set-aside mutations touched, per property (``republish:<id>``, a
# JSON list of aggregate keys): central never had those mutations, so it is asked to publish
# the aggregates again and the edge takes central's state of them back (decision 0064).
REPUBLISH = "republish:"
# The state's names for IT's release of the set-aside brake (``yadori edge release-brake``):
# when (ISO 8601), and how many may be set aside from then on, for a brake window's time.
BRAKE_RELEASED = "brake_released_at"
BRAKE_ALLOWS = "brake_allows"


def to_republish(state: dict[str, str]) -> dict[str, list[str]]:
    """The aggregates to ask central to publish again, per property, from the stored state.

    A stored ask that no longer reads back (damaged on the disk) is an empty list: the worker
    drops it, loudly.
    """
    asks: dict[str, list[str]] = {}
    for name, value in state.items():
        if name.startswith(REPUBLISH):
            try:
                keys = canonical.decode(value)
            except ValueError:
                keys = []
            listed = keys if isinstance(keys, list) else []
            asks[name.removeprefix(REPUBLISH)] = [str(k) for k in listed]
    return asks


@dataclass(frozen=True, slots=True)
class Aside:
    """Why queued mutations are set aside (``QueueGuard``).

    ``code`` (one of ``SET_ASIDE_CODES``) begins the stored reason, ``reason`` follows it (what
    staff read in the sync status); ``alert`` is the alert's kind, ``told`` what its message
    says of each mutation ("queued mutation <id> <told>").
    """

    code: str
    reason: str
    alert: str
    told: str


@dataclass(frozen=True, slots=True)
class SetAside:
    """Mutations taken out of the queue (damaged at rest, or too large to send).

    Which (those still waiting), why, when, and the alerts recorded (kind and message).
    """

    ids: list[str]
    reason: str
    at: datetime
    alerts: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Batch and page sizes (decision 0060: batches of 1,000).

    ``batch_bytes``: the most a batch may carry uncompressed; central refuses more
    (``protocol.MAX_BATCH_BYTES``, decision 0062). A batch that would be larger is cut short.
    """

    batch_size: int = 1_000
    page_size: int = 2_000
    batch_bytes: int = MAX_BATCH_BYTES


@dataclass
class CycleReport:
    """What one sync cycle did."""

    pushed: int = 0
    batches: int = 0
    pulled_changes: int = 0
    results: int = 0
    rejected: int = 0
    push_ms: int = 0
    pull_ms: int = 0
    errors: list[str] = field(default_factory=list)


Announce = Callable[[str, dict[str, JSON]], None]  # an event for the staff banner (EventHub)
