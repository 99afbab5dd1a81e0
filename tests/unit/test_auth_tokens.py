"""Tokens: EdDSA only, a trusted kid, an intact signature, a live lifetime — each refused apart."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yadori.auth import errors as e
from yadori.auth import keys
from yadori.auth.keys import KeyStatus, TrustedKey
from yadori.auth.roles import Role, Scope, scopes_for
from yadori.auth.tokens import issue_node, issue_staff, verify_node, verify_staff

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EDGE = keys.generate("tky1")
OTHER = keys.generate("osk1")


def ring(*trusted: TrustedKey) -> dict[str, TrustedKey]:
    """A keyring of these keys."""
    return {k.kid: k for k in trusted}


RING = ring(EDGE.trusted())


def _token(**over: object) -> str:
    args: dict[str, object] = {
        "staff_id": "s1",
        "property_id": "p1",
        "role": Role.FRONT_DESK,
        "scopes": scopes_for(Role.FRONT_DESK, offline=True),
        "offline": True,
        "now": NOW,
        "lifetime": timedelta(hours=8),
        **over,
    }
    token, _ = issue_staff(EDGE, **args)  # type: ignore[arg-type]
    return token


def test_round_trip() -> None:
    """A token verifies into the claims it was issued with."""
    claims = verify_staff(_token(), RING.get, NOW + timedelta(hours=1))
    assert (claims.staff_id, claims.property_id, claims.role) == ("s1", "p1", Role.FRONT_DESK)
    assert claims.offline
    assert claims.kid == EDGE.kid
    assert Scope.PIN_CHANGE not in claims.scopes
    assert claims.expires_at == NOW + timedelta(hours=8)


def test_expired() -> None:
    """After its lifetime (and the leeway) a token is refused."""
    with pytest.raises(e.TokenExpired):
        verify_staff(_token(), RING.get, NOW + timedelta(hours=8, minutes=1))


def test_expired_is_accepted_when_time_is_not_checked() -> None:
    """Central judging an old mutation checks the signature, not today's clock."""
    claims = verify_staff(_token(), RING.get, NOW + timedelta(days=3), check_time=False)
    assert claims.staff_id == "s1"


def test_not_yet_valid() -> None:
    """A token issued in the future is refused."""
    with pytest.raises(e.TokenNotYetValid):
        verify_staff(_token(now=NOW + timedelta(hours=1)), RING.get, NOW)


def _parts(token: str) -> list[str]:
    return token.split(".")


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_tampered_payload() -> None:
    """Changing the role in the payload breaks the signature."""
    head, body, sig = _parts(_token())
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["role"] = "admin"
    with pytest.raises(e.TokenSignatureInvalid):
        verify_staff(f"{head}.{_b64(claims)}.{sig}", RING.get, NOW)


def test_wrong_signature() -> None:
    """A token signed by another key under this kid is refused."""
    forged = keys.NodeKey(EDGE.kid, "tky1", Ed25519PrivateKey.generate())
    token, _ = issue_staff(
        forged, staff_id="s1", property_id="p1", role=Role.ADMIN,
        scopes=frozenset(Scope), offline=False, now=NOW, lifetime=timedelta(hours=1),
    )  # fmt: skip
    with pytest.raises(e.TokenSignatureInvalid):
        verify_staff(token, RING.get, NOW)


def test_alg_none() -> None:
    """An unsigned token is refused before any key is looked at."""
    head = _b64({"alg": "none", "typ": "JWT", "kid": EDGE.kid})
    body = _parts(_token())[1]
    with pytest.raises(e.TokenAlgorithmRefused):
        verify_staff(f"{head}.{body}.", RING.get, NOW)


def test_hs256_signed_with_the_public_key() -> None:
    """The key-confusion attack: HMAC with the public PEM as the secret is refused."""
    payload = jwt.decode(_token(), options={"verify_signature": False})
    secret = EDGE.public_pem().encode()
    head = _b64({"alg": "HS256", "typ": "JWT", "kid": EDGE.kid})
    body = _b64(payload)
    import hashlib
    import hmac

    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    token = f"{head}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(e.TokenAlgorithmRefused):
        verify_staff(token, RING.get, NOW)


def test_unknown_kid() -> None:
    """A token whose kid nobody enrolled is refused."""
    token, _ = issue_staff(
        OTHER, staff_id="s1", property_id="p1", role=Role.ADMIN,
        scopes=frozenset(Scope), offline=False, now=NOW, lifetime=timedelta(hours=1),
    )  # fmt: skip
    with pytest.raises(e.UnknownKey):
        verify_staff(token, RING.get, NOW)


def test_revoked_kid() -> None:
    """A token of a revoked key is refused, however fresh."""
    revoked = ring(EDGE.trusted(KeyStatus.REVOKED))
    with pytest.raises(e.KeyRevoked):
        verify_staff(_token(), revoked.get, NOW)


def test_retired_kid_still_verifies() -> None:
    """A rotated-out key's tokens stay valid until they expire."""
    retired = ring(EDGE.trusted(KeyStatus.RETIRED))
    assert verify_staff(_token(), retired.get, NOW).staff_id == "s1"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000, "' OR 1=1 --"])
def test_garbage(garbage: str) -> None:
    """Anything that is not a JWT is malformed."""
    with pytest.raises(e.Unauthenticated):
        verify_staff(garbage, RING.get, NOW)


def test_node_token_is_not_a_staff_token() -> None:
    """A node token has another audience: it never passes as a staff token, nor back."""
    node = issue_node(EDGE, NOW)
    with pytest.raises(e.TokenMalformed):
        verify_staff(node, RING.get, NOW)
    with pytest.raises(e.NodeUnauthenticated):
        verify_node(_token(), RING.get, NOW)
    assert verify_node(node, RING.get, NOW).node_id == "tky1"


def test_node_token_must_be_signed_by_that_nodes_key() -> None:
    """An edge cannot call as another node."""
    impostor = keys.NodeKey(EDGE.kid, "osk1", EDGE.private)
    with pytest.raises(e.NodeUnauthenticated):
        verify_node(issue_node(impostor, NOW), RING.get, NOW)


def test_keys_and_pepper_files(tmp_path: object) -> None:
    """Keys and the pepper are written owner-only and read back."""
    from pathlib import Path

    directory = Path(str(tmp_path)) / "keys"
    key = keys.load_or_create(directory, "tky1")
    loaded = keys.load(directory, "tky1")
    assert loaded is not None
    assert loaded.kid == key.kid
    assert (directory / keys.PRIVATE_FILE).stat().st_mode & 0o777 == 0o600
    pepper = keys.load_or_create_pepper(directory)
    assert keys.load_pepper(directory) == pepper
    assert keys.load(directory / "none", "x") is None
