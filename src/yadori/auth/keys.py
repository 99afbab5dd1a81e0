"""Node keys: each signing node (central, every enrolled edge) has an Ed25519 key pair.

The private key and the PIN pepper live in files in the node's key directory, outside the
database (a copied database is not a stolen key). The public key is known to central from the
enrolment and to edges through the key list they pull; the ``kid`` names it in every token.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_FILE = "node.pem"
KID_FILE = "node.kid"
PEPPER_FILE = "pepper"


class KeyStatus(StrEnum):
    """Whether tokens signed by a key are trusted."""

    ACTIVE = "active"  # signs new tokens
    RETIRED = "retired"  # rotated out: its tokens stay valid until they expire, no new ones
    REVOKED = "revoked"  # compromised or withdrawn: nothing signed by it is trusted


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key this node knows, with its owner and status."""

    kid: str
    node_id: str
    public_pem: str
    status: KeyStatus

    def public_key(self) -> Ed25519PublicKey:
        """The key as an object PyJWT verifies with."""
        key = serialization.load_pem_public_key(self.public_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"key {self.kid} is not an Ed25519 key")
        return key


@dataclass(frozen=True, slots=True)
class NodeKey:
    """This node's own signing key."""

    kid: str
    node_id: str
    private: Ed25519PrivateKey

    def public_pem(self) -> str:
        """The public half, as PEM text."""
        return public_pem(self.private.public_key())

    def trusted(self, status: KeyStatus = KeyStatus.ACTIVE) -> TrustedKey:
        """The public half as a trusted key."""
        return TrustedKey(self.kid, self.node_id, self.public_pem(), status)


def public_pem(key: Ed25519PublicKey) -> str:
    """A public key as PEM text."""
    raw = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw.decode()


def kid_for(node_id: str, key: Ed25519PublicKey) -> str:
    """A key's id: the node and a fingerprint of the public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{node_id}.{hashlib.sha256(raw).hexdigest()[:12]}"


def generate(node_id: str) -> NodeKey:
    """A new key pair for a node."""
    private = Ed25519PrivateKey.generate()
    return NodeKey(kid_for(node_id, private.public_key()), node_id, private)


def save(directory: Path, key: NodeKey) -> None:
    """Write the key to the directory (owner-only), replacing the one there."""
    directory.mkdir(parents=True, exist_ok=True)
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_secret(directory / PRIVATE_FILE, pem)
    _write_secret(directory / KID_FILE, key.kid.encode())


def load(directory: Path, node_id: str) -> NodeKey | None:
    """The node's key from the directory, or None when it has none yet."""
    path = directory / PRIVATE_FILE
    if not path.exists():
        return None
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    kid = (directory / KID_FILE).read_text().strip()
    return NodeKey(kid, node_id, private)


def load_or_create(directory: Path, node_id: str) -> NodeKey:
    """The node's key, made and saved on first use (central's own key)."""
    key = load(directory, node_id)
    if key is None:
        key = generate(node_id)
        save(directory, key)
    return key


def load_pepper(directory: Path) -> bytes | None:
    """The PIN pepper, or None when this node has none yet."""
    path = directory / PEPPER_FILE
    return bytes.fromhex(path.read_text().strip()) if path.exists() else None


def save_pepper(directory: Path, pepper: bytes) -> None:
    """Write the PIN pepper (owner-only)."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_secret(directory / PEPPER_FILE, pepper.hex().encode())


def load_or_create_pepper(directory: Path) -> bytes:
    """Central's PIN pepper, made on first start; edges receive it when they enrol."""
    pepper = load_pepper(directory)
    if pepper is None:
        pepper = secrets.token_bytes(32)
        save_pepper(directory, pepper)
    return pepper


def _write_secret(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
