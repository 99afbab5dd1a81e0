"""PINs: argon2id over an HMAC of the PIN with a pepper kept outside the database.

A 6-digit PIN has 10⁶ values: a stolen database alone must not let anyone try them all, so the
PIN is first keyed with the pepper (a file beside the node's key, never in the database), then
hashed with argon2id (t=2, m=19 MiB, p=1, about 30 ms here; LIBRARIES.md). Lockout bounds the
guesses at the door.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from yadori.domain.errors import InvalidInput

PIN_PATTERN = re.compile(r"[0-9]{4,8}")
TIME_COST = 2
MEMORY_KIB = 19 * 1024
PARALLELISM = 1


def check_pin_format(pin: str) -> str:
    """The PIN if it is 4–8 ASCII digits; InvalidInput otherwise (it is never stored so)."""
    if not PIN_PATTERN.fullmatch(pin):
        raise InvalidInput("a PIN is 4 to 8 digits / PINは4〜8桁の数字です", field="pin")
    return pin


class PinHasher:
    """Hashes and verifies PINs with one pepper; the failure path costs what success costs."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("the pepper must be at least 16 bytes")
        self._pepper = pepper
        self._argon = PasswordHasher(
            time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM
        )
        self._dummy = self._argon.hash(self._keyed("0000"))

    def hash(self, pin: str) -> str:
        """The stored form of a PIN (argon2id encoded, with its own salt)."""
        return self._argon.hash(self._keyed(check_pin_format(pin)))

    def verify(self, stored: str | None, pin: str) -> bool:
        """Whether ``pin`` matches ``stored``.

        With no stored hash (an unknown staff code, a locked account) a dummy hash is checked
        instead, so every answer takes one argon2 verification: timing tells nothing.
        """
        candidate = self._keyed(pin[:64])
        try:
            ok = self._argon.verify(stored or self._dummy, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and stored is not None and PIN_PATTERN.fullmatch(pin) is not None

    def _keyed(self, pin: str) -> str:
        return hmac.new(self._pepper, pin.encode(), hashlib.sha256).hexdigest()
