"""The mutation: the unit of every change, appended to the outbox with the change itself.

Its fields are those of DESIGN §3. The CRC32 covers the canonical encoding of every other
field, so a mutation damaged anywhere between the node that made it and the node that applies
it is noticed and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from yadori.sync import canonical
from yadori.sync.canonical import JSON


class Priority(IntEnum):
    """Upload lanes, 0 first: money, then arrivals and departures, rooms, orders, logs."""

    PAYMENT = 0
    STAY = 1
    ROOM_STATUS = 2
    ORDER = 3
    LOG = 4


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made the change: a staff id and the id of the token that authorised it."""

    staff_id: str
    token_id: str


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change made at one node, as it travels and is stored."""

    id: str
    origin: str
    seq: int
    hlc: str
    name: str
    args: dict[str, JSON]
    deps: tuple[str, ...]
    priority: Priority
    actor: Actor
    crc32: int

    def body(self) -> dict[str, JSON]:
        """Every field but the checksum, as plain JSON values."""
        return {
            "id": self.id,
            "origin": self.origin,
            "seq": self.seq,
            "hlc": self.hlc,
            "name": self.name,
            "args": self.args,
            "deps": list(self.deps),
            "priority": int(self.priority),
            "actor": {"staff_id": self.actor.staff_id, "token_id": self.actor.token_id},
        }

    def checksum_ok(self) -> bool:
        """Whether the stored checksum matches the fields."""
        return canonical.crc32_plain(self.body()) == self.crc32


def make_mutation(
    *,
    id: str,
    origin: str,
    seq: int,
    hlc: str,
    name: str,
    args: dict[str, JSON],
    deps: tuple[str, ...],
    priority: Priority,
    actor: Actor,
) -> Mutation:
    """Build a mutation and seal it with the CRC32 of its canonical encoding.

    ``args`` are plain JSON values (``Command.args`` gives them), like every other field.
    """
    draft = Mutation(id, origin, seq, hlc, name, args, deps, priority, actor, 0)
    return Mutation(
        id, origin, seq, hlc, name, args, deps, priority, actor, canonical.crc32_plain(draft.body())
    )
