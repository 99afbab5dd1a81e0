"""Central's check of every pushed mutation's actor (DESIGN §8).

A mutation names its staff member and the token it was made under. Central accepts it only if
it knows that token — issued by central itself online, or attested by the edge that signed it
offline (the login record travels first, as a dependency) — and the token's staff member is the
actor, its key is trusted (not revoked), the mutation was made inside the token's lifetime, and
the token's scopes include the command. The token's age at upload time does not matter: a token
that expired while the edge was offline never stops the queue.

A guest (the room-service page) is no staff member: the actor ``guest:<reservation id>`` with a
guest token's id may only place orders for that stay, and sign in by room and surname (which
issues the token it then orders under); anything else made under a guest actor is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yadori.auth import errors as e
from yadori.auth.keys import KeyStatus
from yadori.auth.roles import COMMAND_SCOPE
from yadori.auth.tokens import Keyring, verify_attestation
from yadori.domain.roomservice import OrderSource
from yadori.services.commands import Command, IssueGuestToken, PlaceOrder, RecordLoginAttempt
from yadori.services.ports import UnitOfWork
from yadori.sync.hlc import Timestamp
from yadori.sync.mutation import Mutation

LEEWAY = timedelta(minutes=5)  # clock skew between the edge and the token's issuer
GUEST = "guest:"  # the actor of what a guest does on the room-service page


class ActorCheck:
    """Refuses (ActorRefused) a pushed mutation whose actor does not check out."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def __call__(self, uow: UnitOfWork, mutation: Mutation, command: Command) -> None:
        """Check one mutation before its handler runs, inside its transaction."""
        try:
            if mutation.actor.staff_id.startswith(GUEST):
                self._guest(uow, mutation, command)
            elif isinstance(command, RecordLoginAttempt):
                self._login_record(uow, mutation, command)
            else:
                self._actor(uow, mutation, command)
        except e.ActorRefused:
            raise
        except e.AuthError as exc:
            raise e.ActorRefused(f"{exc.code}: {exc.message}", reason=exc.code) from exc

    @staticmethod
    def _guest(uow: UnitOfWork, m: Mutation, command: Command) -> None:
        stay = m.actor.staff_id.removeprefix(GUEST)
        if isinstance(command, IssueGuestToken):
            # signing in by room and surname at the edge: the token is the guest's own
            if (command.method, command.token_id, command.reservation_id) != (
                "room_surname",
                m.actor.token_id,
                stay,
            ):
                raise e.ActorRefused("a guest may only sign in to their own stay", reason="guest")
            return
        if not isinstance(command, PlaceOrder):
            raise e.ActorRefused(f"a guest may not {command.name}", reason="role_forbidden")
        if command.reservation_id != stay or command.source is not OrderSource.GUEST:
            raise e.ActorRefused("a guest may order only for their own stay", reason="guest")
        if uow.guest_tokens.reservation_of_token(m.actor.token_id) != stay:
            raise e.ActorRefused(
                f"guest token {m.actor.token_id[:40]} is unknown here", reason="unknown_token"
            )

    def _login_record(self, uow: UnitOfWork, m: Mutation, cmd: RecordLoginAttempt) -> None:
        if not cmd.attestation:
            if cmd.token_id:
                raise e.ActorRefused("a successful login record without its attestation")
            return  # a failed attempt, vouched for by the enrolled edge that pushed it
        claims = verify_attestation(cmd.attestation, self._keyring)
        signer = self._keyring(claims.kid)
        if (claims.token_id, claims.staff_id) != (cmd.token_id, cmd.staff_id):
            raise e.ActorRefused("the attestation is of another token")
        if claims.staff_id != m.actor.staff_id or claims.property_id != uow.property_id:
            raise e.ActorRefused("the attestation names another staff member or property")
        if signer is None or signer.node_id != m.origin:
            raise e.ActorRefused("an edge may attest only the tokens it signed itself")

    def _actor(self, uow: UnitOfWork, m: Mutation, command: Command) -> None:
        session = uow.staff.session(m.actor.token_id)
        if session is None:
            raise e.ActorRefused(
                f"token {m.actor.token_id[:40]} is unknown here", reason="unknown_token"
            )
        if session.staff_id != m.actor.staff_id:
            raise e.ActorRefused("the token belongs to another staff member", reason="mismatch")
        key = self._keyring(session.kid)
        if key is None:
            raise e.ActorRefused(f"key {session.kid} is unknown", reason="unknown_key")
        if key.status is KeyStatus.REVOKED:
            raise e.ActorRefused(f"key {session.kid} has been revoked", reason="key_revoked")
        made = datetime.fromtimestamp(Timestamp.parse(m.hlc).wall_ms / 1000, tz=UTC)
        if not session.issued_at - LEEWAY <= made <= session.expires_at + LEEWAY:
            raise e.ActorRefused("made outside the token's lifetime", reason="outside_lifetime")
        scope = COMMAND_SCOPE.get(command.name)
        if scope is None or scope.value not in session.scopes:
            raise e.ActorRefused(
                f"the {session.role} role may not {command.name}", reason="role_forbidden"
            )
