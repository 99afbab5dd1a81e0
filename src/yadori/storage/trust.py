"""Which node keys this node trusts, and central's one-time enrolment tokens.

Not hotel data of one property: the key list is central's, copied whole to each edge (the
revocation list travels with it). Lookups are served from memory, refreshed from the database
every few seconds, so a key revoked by another central process is refused within seconds.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.auth.errors import EnrolmentRefused
from yadori.auth.keys import KeyStatus, TrustedKey
from yadori.storage.engine import reading
from yadori.storage.tables import enrolment_tokens, node_keys

REFRESH_SECONDS = 2.0


class SqlTrust:
    """Node keys and enrolment tokens in the node's database."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[TrustedKey, tuple[str, ...]]] = {}
        self._loaded_at = float("-inf")

    def key(self, kid: str) -> TrustedKey | None:
        """The trusted key with that kid, or None."""
        found = self._cached().get(kid)
        return None if found is None else found[0]

    def all_keys(self) -> list[TrustedKey]:
        """Every key, by kid."""
        return [k for k, _ in sorted(self._cached().values(), key=lambda v: v[0].kid)]

    def node_properties(self, kid: str) -> tuple[str, ...]:
        """The properties a node's key was enrolled for."""
        found = self._cached().get(kid)
        return () if found is None else found[1]

    def keys_crc(self) -> int:
        """A CRC32 of the key list, so an edge fetches it only when it changed."""
        text = "|".join(f"{k.kid}:{k.status.value}" for k in self.all_keys())
        return zlib.crc32(text.encode())

    def add_key(self, key: TrustedKey, properties: tuple[str, ...]) -> None:
        """Trust a key (or update it, when the same kid is added again)."""
        values = {
            "node_id": key.node_id,
            "public_pem": key.public_pem,
            "status": key.status.value,
            "properties": ",".join(properties),
            "status_at": self._now(),
        }
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(node_keys).where(node_keys.c.kid == key.kid).values(values)
            )
            if updated.rowcount == 0:
                conn.execute(
                    sa.insert(node_keys).values(kid=key.kid, created_at=self._now(), **values)
                )
        self._invalidate()

    def set_status(self, kid: str, status: KeyStatus) -> bool:
        """Retire or revoke a key; False when there is no such key."""
        with self._engine.begin() as conn:
            updated = conn.execute(
                sa.update(node_keys)
                .where(node_keys.c.kid == kid)
                .values(status=status.value, status_at=self._now())
            )
        self._invalidate()
        return updated.rowcount == 1

    def replace_keys(self, keys: list[tuple[TrustedKey, tuple[str, ...]]]) -> None:
        """Replace the whole list by central's (an edge, after a change of its CRC)."""
        with self._engine.begin() as conn:
            conn.execute(sa.delete(node_keys))
            if keys:
                conn.execute(
                    sa.insert(node_keys),
                    [
                        {
                            "kid": k.kid,
                            "node_id": k.node_id,
                            "public_pem": k.public_pem,
                            "status": k.status.value,
                            "properties": ",".join(props),
                            "created_at": self._now(),
                            "status_at": None,
                        }
                        for k, props in keys
                    ],
                )
        self._invalidate()

    def issue_enrolment(
        self, node_id: str, properties: tuple[str, ...], created_by: str, ttl: timedelta
    ) -> tuple[str, datetime]:
        """A one-time enrolment token for a node (only its hash is stored) and its expiry."""
        token = secrets.token_urlsafe(24)
        expires = self._now() + ttl
        with self._engine.begin() as conn:
            conn.execute(
                sa.insert(enrolment_tokens).values(
                    token_hash=_hash(token),
                    node_id=node_id,
                    properties=",".join(properties),
                    created_by=created_by[:64],
                    expires_at=expires,
                    used_at=None,
                )
            )
        return token, expires

    def redeem_enrolment(self, token: str, node_id: str) -> tuple[str, ...]:
        """Use a token once; its properties. EnrolmentRefused if unknown, used or expired."""
        now = self._now()
        hashed = _hash(token[:200])
        with self._engine.begin() as conn:
            used = conn.execute(
                sa.update(enrolment_tokens)
                .where(
                    enrolment_tokens.c.token_hash == hashed,
                    enrolment_tokens.c.node_id == node_id,
                    enrolment_tokens.c.used_at.is_(None),
                    enrolment_tokens.c.expires_at > now,
                )
                .values(used_at=now)
            )
            if used.rowcount != 1:
                raise EnrolmentRefused(
                    "this enrolment token is unknown, already used, expired or for another node"
                    " / 登録トークンが無効です"
                )
            props = conn.execute(
                sa.select(enrolment_tokens.c.properties).where(
                    enrolment_tokens.c.token_hash == hashed
                )
            ).scalar_one()
        return tuple(p for p in props.split(",") if p)

    def _cached(self) -> dict[str, tuple[TrustedKey, tuple[str, ...]]]:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            with self._lock, reading(self._engine) as conn:  # maybe inside a replay
                rows = conn.execute(sa.select(node_keys)).all()
                self._cache = {
                    r.kid: (
                        TrustedKey(r.kid, r.node_id, r.public_pem, KeyStatus(r.status)),
                        tuple(p for p in r.properties.split(",") if p),
                    )
                    for r in rows
                }
                self._loaded_at = time.monotonic()
        return self._cache

    def _invalidate(self) -> None:
        self._loaded_at = float("-inf")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
