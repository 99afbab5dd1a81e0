"""What a handler knows about the command it runs besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yadori.sync.mutation import Actor


@dataclass(frozen=True, slots=True)
class Context:
    """Who issued the command, when (from its HLC, so a replay sees the same time), and where."""

    actor: Actor
    at: datetime
    node_prefix: str
