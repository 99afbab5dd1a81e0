"""How long a text may be: the same limit on every node, whatever its database enforces.

SQLite ignores VARCHAR lengths and PostgreSQL refuses what is too long, so a name an edge
accepted could be rejected when central replays the command. The domain checks instead.
"""

from __future__ import annotations

from decimal import Decimal

from yadori.domain.errors import InvalidInput

CODE = 16
NAME = 200
TEXT = 500
RATE_PLACES = 6  # a service charge of 10.125 % is 0.10125


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


def check_rate(field: str, rate: Decimal) -> None:
    """Refuse a rate outside 0 … 1 or finer than RATE_PLACES decimal places, naming the field.

    Bounded so that every node stores it as the same short text (decision 0044). Checked
    where a rate comes in (the commands that set one), not when a stored one is read back:
    a rate stored before this bound still loads.
    """
    label = field.replace("_", " ")
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        raise InvalidInput(f"{label} is between 0 and 1", field=field)
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise InvalidInput(f"{label} has at most {RATE_PLACES} decimal places", field=field)
