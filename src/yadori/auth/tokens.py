"""JWTs: staff tokens and node tokens, EdDSA only, a ``kid`` per signing node.

A staff token says who (``sub``, ``role``, ``scope``), where (``pid``, the property), by whom it
was signed (``iss``, the node; ``kid``, its key) and whether offline (``offline``). A node token
is what an edge sends with each sync call: short-lived, ``sub`` is the edge's node id.
Verification refuses every algorithm but EdDSA before looking at the key, then checks the key is
trusted, the signature, and the lifetime against an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from jwt.exceptions import InvalidTokenError

from yadori.auth import errors as e
from yadori.auth.keys import KeyStatus, NodeKey, TrustedKey
from yadori.auth.roles import Role, Scope
from yadori.domain.ids import new_id

ALGORITHM = "EdDSA"
STAFF_AUDIENCE = "yadori-staff"
NODE_AUDIENCE = "yadori-node"
SESSION_AUDIENCE = "yadori-session"  # an attestation of an issued token, never a bearer token
LEEWAY = timedelta(seconds=10)  # clock skew between nodes (an alert fires past 5 s)
REQUIRED = ["exp", "sub", "iat", "nbf", "jti", "aud", "iss"]
MAX_TOKEN_LENGTH = 4096

Keyring = Callable[[str], TrustedKey | None]
"""Finds a trusted key by its kid (None: unknown)."""


@dataclass(frozen=True, slots=True)
class StaffClaims:
    """What a staff token says."""

    token_id: str
    staff_id: str
    property_id: str
    role: Role
    scopes: frozenset[Scope]
    offline: bool
    issuer: str
    kid: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NodeClaims:
    """What a node token says: which enrolled node calls, under which key."""

    node_id: str
    kid: str


def issue_staff(
    key: NodeKey,
    *,
    staff_id: str,
    property_id: str,
    role: Role,
    scopes: frozenset[Scope],
    offline: bool,
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, StaffClaims]:
    """Sign a staff token with the node's key."""
    claims = StaffClaims(
        new_id(),
        staff_id,
        property_id,
        role,
        scopes,
        offline,
        key.node_id,
        key.kid,
        now,
        now + lifetime,
    )
    return _sign_staff(key, claims, STAFF_AUDIENCE), claims


def attest(key: NodeKey, claims: StaffClaims) -> str:
    """A signed record that this node issued that token, for central to check pushed actors.

    It has the token's claims but another audience, so it can never be used to log in.
    """
    return _sign_staff(key, claims, SESSION_AUDIENCE)


def verify_attestation(attestation: str, keyring: Keyring) -> StaffClaims:
    """The claims of a session attestation, whatever its age (central judges the time)."""
    payload, kid = _decode(attestation, keyring, SESSION_AUDIENCE, _EPOCH, check_time=False)
    return _claims(payload, kid)


def read_attestation(attestation: str) -> StaffClaims:
    """The claims of an attestation already verified (or signed by this very node).

    Only for handlers: central's actor check verifies every pushed attestation before its
    handler runs.
    """
    try:
        payload = jwt.decode(attestation, options={"verify_signature": False})
        kid = jwt.get_unverified_header(attestation).get("kid")
    except InvalidTokenError as exc:
        raise e.TokenMalformed(f"not a JWT: {exc}") from exc
    return _claims(payload, str(kid))


def _sign_staff(key: NodeKey, claims: StaffClaims, audience: str) -> str:
    payload = {
        "sub": claims.staff_id,
        "jti": claims.token_id,
        "iss": claims.issuer,
        "aud": audience,
        "iat": _ts(claims.issued_at),
        "nbf": _ts(claims.issued_at),
        "exp": _ts(claims.expires_at),
        "pid": claims.property_id,
        "role": claims.role.value,
        "scope": sorted(s.value for s in claims.scopes),
        "offline": claims.offline,
    }
    return jwt.encode(payload, key.private, ALGORITHM, headers={"kid": key.kid})


def issue_node(key: NodeKey, now: datetime, lifetime: timedelta = timedelta(minutes=2)) -> str:
    """A short-lived token an edge sends with each call to central."""
    payload = {
        "sub": key.node_id,
        "jti": new_id(),
        "iss": key.node_id,
        "aud": NODE_AUDIENCE,
        "iat": _ts(now),
        "nbf": _ts(now),
        "exp": _ts(now + lifetime),
    }
    return jwt.encode(payload, key.private, ALGORITHM, headers={"kid": key.kid})


def verify_staff(
    token: str, keyring: Keyring, now: datetime, *, check_time: bool = True
) -> StaffClaims:
    """The claims of a valid staff token; an ``Unauthenticated`` error naming what is wrong.

    ``check_time=False`` is for central judging a pushed mutation: the token had to be valid
    when the mutation was made, not now (the caller compares the mutation's time).
    """
    payload, kid = _decode(token, keyring, STAFF_AUDIENCE, now, check_time=check_time)
    return _claims(payload, kid)


def _claims(payload: dict[str, object], kid: str) -> StaffClaims:
    try:
        return StaffClaims(
            token_id=str(payload["jti"]),
            staff_id=str(payload["sub"]),
            property_id=str(payload["pid"]),
            role=Role(str(payload["role"])),
            scopes=frozenset(Scope(s) for s in _strings(payload["scope"])),
            offline=bool(payload["offline"]),
            issuer=str(payload["iss"]),
            kid=kid,
            issued_at=_dt(payload["iat"]),
            expires_at=_dt(payload["exp"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise e.TokenMalformed(f"a claim is missing or wrong: {exc}") from exc


def verify_node(token: str, keyring: Keyring, now: datetime) -> NodeClaims:
    """The claims of a valid node token, whose key must belong to the node it names."""
    try:
        payload, kid = _decode(token, keyring, NODE_AUDIENCE, now, check_time=True)
    except e.Unauthenticated as exc:
        raise e.NodeUnauthenticated(f"{exc.code}: {exc.message}", reason=exc.code) from exc
    found = keyring(kid)
    if found is None or found.node_id != payload["sub"]:
        raise e.NodeUnauthenticated("the key does not belong to that node", reason="unknown_key")
    return NodeClaims(str(payload["sub"]), kid)


def _decode(
    token: str, keyring: Keyring, audience: str, now: datetime, *, check_time: bool
) -> tuple[dict[str, object], str]:
    if len(token) > MAX_TOKEN_LENGTH:
        raise e.TokenMalformed("the token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise e.TokenMalformed(f"not a JWT: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise e.TokenAlgorithmRefused(f"alg {header.get('alg')!r} is refused: EdDSA only")
    kid = header.get("kid")
    if not isinstance(kid, str) or len(kid) > 80:
        raise e.UnknownKey("the token names no key (kid)", kid=str(kid)[:80])
    trusted = keyring(kid)
    if trusted is None:
        raise e.UnknownKey(f"no trusted key {kid!r}", kid=kid)
    if trusted.status is KeyStatus.REVOKED:
        raise e.KeyRevoked(f"key {kid} has been revoked", kid=kid)
    payload = _verified(token, trusted, audience)
    if check_time:
        _check_time(payload, now)
    return payload, kid


def _verified(token: str, trusted: TrustedKey, audience: str) -> dict[str, object]:
    try:
        payload: dict[str, object] = jwt.decode(
            token,
            trusted.public_key(),
            algorithms=[ALGORITHM],
            audience=audience,
            options={
                "require": REQUIRED,
                "verify_exp": False,  # checked below against the injected clock
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise e.TokenSignatureInvalid("the signature does not match") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise e.TokenAlgorithmRefused(str(exc)) from exc
    except InvalidTokenError as exc:
        raise e.TokenMalformed(f"{type(exc).__name__}: {exc}") from exc
    return payload


def _check_time(payload: dict[str, object], now: datetime) -> None:
    try:
        exp, nbf, iat = _dt(payload["exp"]), _dt(payload["nbf"]), _dt(payload["iat"])
    except (TypeError, ValueError) as exc:
        raise e.TokenMalformed(f"a time claim is wrong: {exc}") from exc
    if now >= exp + LEEWAY:
        raise e.TokenExpired("the token has expired: log in again / 再ログインしてください")
    if nbf > now + LEEWAY or iat > now + LEEWAY:
        raise e.TokenNotYetValid("the token is not valid yet (check the clock)")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("scope must be a list of strings")
    return value


def _ts(at: datetime) -> int:
    return int(at.timestamp())


def _dt(value: object) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{value!r} is not a NumericDate")
    return datetime.fromtimestamp(value, tz=UTC)
