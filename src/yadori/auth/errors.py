"""Errors of staff and node authentication.

Each is a ``DomainError`` (a stable ``code`` and a message staff can act on), so the API maps it
to problem+json and a push that fails the actor check is recorded as ``rejected`` with it::

    AuthError
    ├── Unauthenticated                 401: no usable credential
    │   ├── InvalidCredentials          staff code or PIN wrong (one answer for both)
    │   ├── TokenMissing                no bearer token
    │   ├── TokenMalformed              not a JWT, or a claim of the wrong shape
    │   ├── TokenExpired, TokenNotYetValid
    │   ├── TokenSignatureInvalid       tampered or signed with another key
    │   ├── TokenAlgorithmRefused       alg none, HS256 …: only EdDSA is accepted
    │   ├── UnknownKey, KeyRevoked      the kid is not trusted (never enrolled, or revoked)
    │   ├── StaffInactive               the staff member was disabled or deleted
    │   ├── NodeUnauthenticated         a sync call without a valid node token
    │   └── EnrolmentRefused            one-time enrolment token unknown, used or expired
    ├── AccountLocked                   423: too many wrong PINs; try again later
    ├── Forbidden                       403
    │   ├── RoleForbidden               the role may not do this
    │   ├── WrongProperty               a token of another property
    │   └── OnlineOnly                  needs central: refused with an offline token or link
    └── ActorRefused                    a pushed mutation whose actor does not check out
"""

from __future__ import annotations

from yadori.domain.errors import DomainError


class AuthError(DomainError):
    """Authentication or authorisation refused the request."""

    code = "auth_error"


class Unauthenticated(AuthError):
    """No usable credential came with the request."""

    code = "unauthenticated"


class InvalidCredentials(Unauthenticated):
    """The staff code or the PIN is wrong; which one is never said."""

    code = "invalid_credentials"


class TokenMissing(Unauthenticated):
    """The request carries no bearer token."""

    code = "token_missing"


class TokenMalformed(Unauthenticated):
    """The token is not a well-formed JWT with the claims Yadori issues."""

    code = "token_malformed"


class TokenExpired(Unauthenticated):
    """The token's lifetime is over: log in again."""

    code = "token_expired"


class TokenNotYetValid(Unauthenticated):
    """The token's ``nbf`` or ``iat`` lies in the future."""

    code = "token_not_yet_valid"


class TokenSignatureInvalid(Unauthenticated):
    """The signature does not match: tampered, or signed by another key."""

    code = "token_signature_invalid"


class TokenAlgorithmRefused(Unauthenticated):
    """Only EdDSA tokens are accepted (``none`` and HMAC are refused)."""

    code = "token_algorithm_refused"


class UnknownKey(Unauthenticated):
    """The token's ``kid`` names no key this node trusts."""

    code = "unknown_key"


class KeyRevoked(Unauthenticated):
    """The token was signed by a key that has been revoked."""

    code = "key_revoked"


class StaffInactive(Unauthenticated):
    """The staff member was disabled or deleted since the token was issued."""

    code = "staff_inactive"


class NodeUnauthenticated(Unauthenticated):
    """A sync call without a valid token of an enrolled node."""

    code = "node_unauthenticated"


class EnrolmentRefused(Unauthenticated):
    """The one-time enrolment token is unknown, already used or expired."""

    code = "enrolment_refused"


class AccountLocked(AuthError):
    """Too many wrong PINs: the account is locked for a while, even offline."""

    code = "account_locked"


class Forbidden(AuthError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"


class RoleForbidden(Forbidden):
    """The staff member's role does not include this action."""

    code = "role_forbidden"


class WrongProperty(Forbidden):
    """The token was issued for another property."""

    code = "wrong_property"


class OnlineOnly(Forbidden):
    """The action needs central (PIN change, staff creation …) and the link or token is offline."""

    code = "online_only"


class ActorRefused(AuthError):
    """A pushed mutation's actor and token do not check out at central."""

    code = "actor_refused"
