"""Guest access to room service: a per-stay token, or room number and surname.

The token is made at check-in and handed to the guest as a link (or its QR code); only its
SHA-256 is stored, so a copy of the database opens no room's menu. The fallback, room number
and surname, is limited in attempts (:class:`AttemptPolicy`) because surnames are few.
A guest credential never carries staff rights, and no staff credential is asked of a guest.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from yadori.domain.errors import NotFound, RuleViolation

TOKEN_BYTES = 24


class GuestAccessDenied(NotFound):
    """No stay matches that token, or that room and surname."""

    code = "guest_access_denied"


class TooManyAttempts(RuleViolation):
    """Too many wrong room-and-surname attempts: wait before trying again."""

    code = "too_many_attempts"


def new_token() -> str:
    """A fresh, unguessable guest token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace(" ", "").replace("-", "")


def surname_matches(guest_name: str, surname: str) -> bool:
    """Whether ``surname`` is one of the name's words (either order: 佐藤 太郎 / Taro Sato).

    Width and case do not matter (ＳＡＴＯ = sato); an empty answer never matches.
    """
    wanted = _normal(surname)
    if not wanted:
        return False
    words = unicodedata.normalize("NFKC", guest_name).replace("\u3000", " ").split()
    return any(_normal(word) == wanted for word in words) or _normal(guest_name) == wanted


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    """How many wrong answers lock a room's fallback login, for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Attempts:
    """The failures counted for one key (a room) since ``first``."""

    failures: int
    first: datetime
    locked_until: datetime | None = None

    def check(self, now: datetime) -> None:
        """Refuse while locked out."""
        if self.locked_until is not None and now < self.locked_until:
            wait = int((self.locked_until - now).total_seconds()) + 1
            raise TooManyAttempts(
                f"too many attempts: try again in {wait} seconds", retry_after=wait
            )

    def failed(self, now: datetime, policy: AttemptPolicy) -> Attempts:
        """Count one more failure; the window restarts once it has passed."""
        if now - self.first > policy.window or (
            self.locked_until is not None and now >= self.locked_until
        ):
            fresh = Attempts(1, now)
        else:
            fresh = Attempts(self.failures + 1, self.first)
        if fresh.failures >= policy.max_failures:
            return Attempts(fresh.failures, fresh.first, now + policy.lockout)
        return fresh
