"""Trust between nodes: enrolment, node tokens on sync calls, key rotation and revocation.

An admin at central makes a one-time enrolment token; the edge makes its key pair and registers
the public half with it, receiving the PIN pepper and the key list. From then on each sync call
carries a short node token signed by that key. Rotation swaps an edge's key (the old one is
retired: its tokens live out their time); revocation withdraws trust at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yadori.auth import errors as e
from yadori.auth.keys import KeyStatus, TrustedKey, kid_for
from yadori.auth.tokens import NodeClaims, verify_node
from yadori.services.ports import Clock
from yadori.sync.canonical import JSON


class Trust(Protocol):
    """The node keys and enrolment tokens a node keeps."""

    def key(self, kid: str) -> TrustedKey | None:
        """The trusted key with that kid, or None."""
        ...

    def all_keys(self) -> list[TrustedKey]:
        """Every key."""
        ...

    def node_properties(self, kid: str) -> tuple[str, ...]:
        """The properties a key's node was enrolled for."""
        ...

    def keys_crc(self) -> int:
        """A CRC32 of the key list."""
        ...

    def add_key(self, key: TrustedKey, properties: tuple[str, ...]) -> None:
        """Trust a key."""
        ...

    def set_status(self, kid: str, status: KeyStatus) -> bool:
        """Retire or revoke a key."""
        ...

    def replace_keys(self, keys: list[tuple[TrustedKey, tuple[str, ...]]]) -> None:
        """Replace the whole key list."""
        ...

    def issue_enrolment(
        self, node_id: str, properties: tuple[str, ...], created_by: str, ttl: timedelta
    ) -> tuple[str, datetime]:
        """A one-time enrolment token and its expiry."""
        ...

    def redeem_enrolment(self, token: str, node_id: str) -> tuple[str, ...]:
        """Use an enrolment token once; its properties."""
        ...


class NodeTrust:
    """Central's (and an edge's) side of trust between nodes."""

    def __init__(self, trust: Trust, clock: Clock, pepper: bytes | None) -> None:
        self._trust = trust
        self._clock = clock
        self._pepper = pepper

    def issue_enrolment(
        self, node_id: str, properties: tuple[str, ...], created_by: str, ttl: timedelta
    ) -> tuple[str, datetime]:
        """A single-use token an edge enrols with, valid for ``ttl``."""
        return self._trust.issue_enrolment(node_id, properties, created_by, ttl)

    def enrol(self, token: str, node_id: str, public_pem: str) -> dict[str, JSON]:
        """Register an edge's public key against a one-time token; what the edge needs back."""
        properties = self._trust.redeem_enrolment(token, node_id)
        kid = kid_for(node_id, _public_key(public_pem))
        self._trust.add_key(TrustedKey(kid, node_id, public_pem, KeyStatus.ACTIVE), properties)
        return {
            "kid": kid,
            "node_id": node_id,
            "properties": list(properties),
            "pepper": self._pepper.hex() if self._pepper else "",
            "keys": self.key_list(),
        }

    def authenticate_node(self, token: str | None) -> tuple[NodeClaims, tuple[str, ...]]:
        """The calling node and its properties; NodeUnauthenticated unless enrolled and active."""
        if not token:
            raise e.NodeUnauthenticated("a sync call needs the edge's node token", reason="none")
        claims = verify_node(token, self._trust.key, self._clock.now())
        found = self._trust.key(claims.kid)
        if found is None or found.status is not KeyStatus.ACTIVE:
            raise e.NodeUnauthenticated(f"key {claims.kid} is retired", reason="key_retired")
        return claims, self._trust.node_properties(claims.kid)

    def rotate(self, caller: NodeClaims, public_pem: str) -> dict[str, JSON]:
        """Trust the caller's new key and retire the one it called with."""
        kid = kid_for(caller.node_id, _public_key(public_pem))
        properties = self._trust.node_properties(caller.kid)
        self._trust.add_key(
            TrustedKey(kid, caller.node_id, public_pem, KeyStatus.ACTIVE), properties
        )
        if kid != caller.kid:
            self._trust.set_status(caller.kid, KeyStatus.RETIRED)
        return {"kid": kid, "retired": caller.kid, "keys": self.key_list()}

    def revoke(self, kid: str) -> bool:
        """Withdraw all trust from a key (a lost or compromised edge)."""
        return self._trust.set_status(kid, KeyStatus.REVOKED)

    def key_list(self) -> list[JSON]:
        """The key list with statuses: the revocation list edges pull."""
        return [
            {
                "kid": k.kid,
                "node_id": k.node_id,
                "public_pem": k.public_pem,
                "status": k.status.value,
                "properties": list(self._trust.node_properties(k.kid)),
            }
            for k in self._trust.all_keys()
        ]

    def keys_crc(self) -> int:
        """The key list's CRC32, sent with every heartbeat."""
        return self._trust.keys_crc()


def keys_from_json(items: list[JSON]) -> list[tuple[TrustedKey, tuple[str, ...]]]:
    """Central's key list as received by an edge."""
    keys = []
    for item in items:
        if not isinstance(item, dict):
            continue
        props = item.get("properties")
        key = TrustedKey(
            str(item["kid"]),
            str(item["node_id"]),
            str(item["public_pem"]),
            KeyStatus(str(item["status"])),
        )
        keys.append((key, tuple(str(p) for p in props) if isinstance(props, list) else ()))
    return keys


def _public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise e.EnrolmentRefused("the public key is not PEM") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise e.EnrolmentRefused("the public key must be Ed25519")
    return key
