"""How long a text may be: the same limit on every node, whatever its database enforces.

SQLite ignores VARCHAR lengths and PostgreSQL refuses what is too long, so a name an edge
accepted could be rejected when central replays the command. The domain checks instead.
"""

from __future__ import annotations

from yadori.domain.errors import InvalidInput

CODE = 16
NAME = 200
TEXT = 500


def check_length(field: str, value: str, limit: int) -> None:
    """Refuse a text longer than its limit, naming the field."""
    if len(value) > limit:
        raise InvalidInput(
            f"{field.replace('_', ' ')} is longer than {limit} characters", field=field
        )


def check_lengths(limits: dict[str, tuple[str, int]]) -> None:
    """Check several fields at once: ``{field: (value, limit)}``."""
    for field, (value, limit) in limits.items():
        check_length(field, value, limit)
