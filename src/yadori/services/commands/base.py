"""The base of every command: what all of them share, whatever they change.

Every write to the hotel's data is a command, named and replayable. A command carries every id
it creates, so running it again elsewhere (central re-executing an edge's mutation) produces the
same rows. Each says which aggregates it touches (``keys``), so the outbox can record what it
depends on, and which upload lane it travels in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from yadori.sync.canonical import JSON, to_json
from yadori.sync.mutation import Priority


@dataclass(frozen=True, kw_only=True)
class Command:
    """The base of every command: a unique name, a lane, and the aggregates it touches."""

    name: ClassVar[str] = ""
    priority: ClassVar[Priority] = Priority.LOG
    issued_on: date | None = None
    """The business date the command was issued on; the bus fills it, a replay reuses it."""

    def aggregates(self) -> tuple[str, ...]:
        """Aggregates this command changes; later commands on them depend on it.

        The unit of work adds every aggregate the handler actually changed, so this names what
        is known before the handler runs (and what a refused command would have touched).
        """
        return ()

    def counts_sold(self) -> tuple[tuple[str, date, date], ...]:
        """(room type id, first night, last night) whose bookings the handler counts.

        A replayed batch counts them all ahead, in one statement (``Reservations.count_ahead``).
        """
        return ()

    def args(self) -> dict[str, JSON]:
        """The command's fields as canonical JSON values."""
        encoded = to_json(dataclasses.asdict(self))
        assert isinstance(encoded, dict)  # noqa: S101 - a dataclass always encodes to a dict
        return encoded
