"""Choosing what to push next: priority lanes, never a mutation before its dependencies.

Pure: given the pending mutations, return the next batch. Lanes are taken in priority order
(payments first, logs last), oldest first within a lane; a mutation whose dependency is still
pending pulls it forward into the batch, just before itself, whatever the dependency's lane. A
mutation never waits for anything but its own dependencies, so one lane never blocks another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pending:
    """What batching needs to know of a pending mutation."""

    id: str
    seq: int
    priority: int
    deps: tuple[str, ...]


def choose_batch(pending: Sequence[Pending], limit: int) -> list[Pending]:
    """The next batch: ``limit`` mutations, more only to keep a dependency chain whole."""
    by_id = {p.id: p for p in pending}
    chosen: list[Pending] = []
    taken: set[str] = set()
    for candidate in sorted(pending, key=lambda p: (p.priority, p.seq)):
        if len(chosen) >= limit:
            break
        if candidate.id not in taken:
            _take(candidate, by_id, taken, chosen)
    return chosen


def _take(p: Pending, by_id: dict[str, Pending], taken: set[str], chosen: list[Pending]) -> None:
    """Add ``p`` after every pending dependency it has (iteratively, deepest first)."""
    stack: list[tuple[Pending, bool]] = [(p, False)]
    while stack:
        item, expanded = stack.pop()
        if expanded:  # every dependency is in: dependencies have lower seqs, so each is
            # pushed above the mutations that need it and taken before them, never twice
            taken.add(item.id)
            chosen.append(item)
            continue
        stack.append((item, True))
        for dep in sorted((by_id[d] for d in item.deps if d in by_id), key=lambda d: -d.seq):
            if dep.id not in taken:
                stack.append((dep, False))
