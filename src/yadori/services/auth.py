"""Staff login and token checks: online through central, offline at the edge.

An edge with a live link (as its connectivity monitor says) forwards the staff code and PIN to
central, which checks them and signs the token. Without the link the edge checks the PIN
against the hash it cached from central, signs with its own enrolled key, and marks the token
``offline``: a shorter life and none of the online-only scopes. Either way the lockout is
enforced here first, every attempt is written to the audit log as a command (so it syncs to
central with the lockout count), and every answer costs one argon2 verification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from yadori.auth import errors as e
from yadori.auth.keys import NodeKey
from yadori.auth.lockout import LockoutPolicy, LockState
from yadori.auth.pins import PinHasher
from yadori.auth.roles import Role, Scope, scopes_for
from yadori.auth.tokens import Keyring, StaffClaims, attest, issue_staff, verify_staff
from yadori.domain.ids import new_id
from yadori.domain.staff import LoginOutcome, Staff
from yadori.services.bus import MessageBus
from yadori.services.commands import RecordLoginAttempt
from yadori.services.ports import Clock
from yadori.sync.canonical import JSON
from yadori.sync.mutation import Actor


class LinkUnavailable(Exception):
    """Central could not be asked (the link is down): log in offline instead."""


class CentralLogin(Protocol):
    """An edge's way to ask central to log a staff member in."""

    def login(self, property_id: str, staff_code: str, pin: str) -> dict[str, JSON]:
        """Central's answer: ``{"token": …}``, or ``{"problem": {...}}`` when it refused."""
        ...


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How this node logs staff in."""

    node_id: str
    role: str = "edge"
    online_lifetime: timedelta = timedelta(hours=12)
    offline_lifetime: timedelta = timedelta(hours=8)
    policy: LockoutPolicy = field(default_factory=LockoutPolicy)


@dataclass(frozen=True, slots=True)
class Login:
    """A successful login: the bearer token and what it says."""

    token: str
    claims: StaffClaims


_REFUSALS: dict[str, type[e.AuthError]] = {
    cls.code: cls for cls in (e.InvalidCredentials, e.AccountLocked, e.StaffInactive)
}


class StaffAuth:
    """Logs staff in and checks their tokens at one node."""

    def __init__(
        self,
        bus: MessageBus,
        hasher: PinHasher | None,
        key: NodeKey | None,
        keyring: Keyring,
        *,
        clock: Clock,
        config: AuthConfig,
        online: Callable[[], bool] = lambda: False,
        central: CentralLogin | None = None,
    ) -> None:
        self._bus = bus
        self._hasher = hasher
        self._key = key
        self._keyring = keyring
        self._clock = clock
        self._config = config
        self._online = online
        self._central = central

    @property
    def hasher(self) -> PinHasher | None:
        """The PIN hasher (None on an edge not yet enrolled)."""
        return self._hasher

    @property
    def ready(self) -> bool:
        """Whether this node can log anyone in (an edge must be enrolled first)."""
        return self._hasher is not None and self._key is not None

    def login(self, property_id: str, staff_code: str, pin: str) -> Login:
        """Log in: through central when this edge is online, else here, offline."""
        if self._config.role == "edge" and self._central is not None and self._online():
            member = self._staff(property_id, staff_code)
            if member is not None:
                self._refuse_if_locked(property_id, member, pin, offline=False)
            try:
                return self._forward(property_id, staff_code, pin)
            except LinkUnavailable:
                pass
        return self.login_here(property_id, staff_code, pin, node=self._config.node_id)

    def login_here(self, property_id: str, staff_code: str, pin: str, *, node: str) -> Login:
        """Check the PIN at this node and sign the token with this node's key."""
        hasher, key = self._parts()
        offline = self._config.role == "edge"
        member = self._staff(property_id, staff_code)
        if member is None or not member.active:
            hasher.verify(None, pin)  # the same cost as a real check
            self._record(property_id, None, staff_code, LoginOutcome.UNKNOWN, node, offline)
            raise e.InvalidCredentials(_WRONG)
        self._refuse_if_locked(property_id, member, pin, offline=offline, node=node)
        if not hasher.verify(member.pin_hash, pin):
            state = self._record(
                property_id, member, staff_code, LoginOutcome.BAD_PIN, node, offline
            )
            raise e.InvalidCredentials(_WRONG, failures=state.failures)
        role = Role(member.role)
        lifetime = self._config.offline_lifetime if offline else self._config.online_lifetime
        token, claims = issue_staff(
            key,
            staff_id=member.id,
            property_id=property_id,
            role=role,
            scopes=scopes_for(role, offline=offline),
            offline=offline,
            now=self._clock.now(),
            lifetime=lifetime,
        )
        self._record(
            property_id, member, staff_code, LoginOutcome.SUCCESS, node, offline,
            claims=claims, attestation=attest(key, claims),
        )  # fmt: skip
        return Login(token, claims)

    def authenticate(self, token: str, property_id: str) -> StaffClaims:
        """The claims of a valid token for this property of a staff member still active."""
        claims = verify_staff(token, self._keyring, self._clock.now())
        self.authorise(claims, property_id)
        return claims

    def authorise(self, claims: StaffClaims, property_id: str) -> None:
        """Refuse a verified token of another property, or of a staff member no longer active."""
        if claims.property_id != property_id:
            raise e.WrongProperty("this token was issued for another property")
        member = self._bus.read(property_id, lambda uow: uow.staff.find(claims.staff_id))
        if member is None or not member.active:
            raise e.StaffInactive("this staff member is disabled / このスタッフは無効です")

    def verify_any(self, token: str) -> StaffClaims:
        """The claims of a valid token, whatever its property (for the staff's own queries)."""
        return verify_staff(token, self._keyring, self._clock.now())

    def _forward(self, property_id: str, staff_code: str, pin: str) -> Login:
        assert self._central is not None  # noqa: S101 - checked by the caller
        answer = self._central.login(property_id, staff_code, pin)
        problem = answer.get("problem")
        if isinstance(problem, dict):
            refusal = _REFUSALS.get(str(problem.get("code")), e.InvalidCredentials)
            facts = {k: problem[k] for k in ("retry_after", "failures") if k in problem}
            raise refusal(str(problem.get("detail") or _WRONG), **facts)
        token = str(answer.get("token"))
        return Login(token, verify_staff(token, self._keyring, self._clock.now()))

    def _refuse_if_locked(
        self, property_id: str, member: Staff, pin: str, *, offline: bool, node: str = ""
    ) -> None:
        failures, until = self._bus.read(property_id, lambda uow: uow.staff.lock_state(member.id))
        state = LockState(failures, until)
        now = self._clock.now()
        if state.locked(now):
            hasher, _ = self._parts()
            hasher.verify(None, pin)  # the same cost as a real check
            node = node or self._config.node_id
            self._record(property_id, member, member.code, LoginOutcome.LOCKED, node, offline)
            raise e.AccountLocked(
                "too many wrong PINs: try again later or ask a manager"
                " / PINの誤入力が多すぎます。しばらくしてから再試行してください",
                retry_after=state.seconds_left(now),
            )

    def _staff(self, property_id: str, staff_code: str) -> Staff | None:
        return self._bus.read(property_id, lambda uow: uow.staff.by_code(staff_code))

    def _record(  # noqa: PLR0917 - one audit line
        self,
        property_id: str,
        member: Staff | None,
        staff_code: str,
        outcome: LoginOutcome,
        node: str,
        offline: bool,
        *,
        claims: StaffClaims | None = None,
        attestation: str = "",
    ) -> LockState:
        policy = self._config.policy
        cmd = RecordLoginAttempt(
            attempt_id=new_id(),
            staff_id=member.id if member else None,
            staff_code=staff_code[:32],
            outcome=outcome,
            node=node,
            offline=offline,
            max_failures=policy.max_failures,
            lock_seconds=int(policy.lock_for.total_seconds()),
            token_id=claims.token_id if claims else None,
            attestation=attestation,
        )
        actor = Actor(member.id if member else "anonymous", claims.token_id if claims else "none")
        return self._bus.execute(property_id, cmd, actor).value(LockState)

    def _parts(self) -> tuple[PinHasher, NodeKey]:
        if self._hasher is None or self._key is None:
            raise e.NodeUnauthenticated(
                "this edge is not enrolled: run `yadori edge enroll` / エッジ未登録です"
            )
        return self._hasher, self._key


_WRONG = "wrong staff code or PIN / スタッフコードまたはPINが違います"


def needs(claims: StaffClaims, scope: Scope) -> None:
    """Refuse unless the token carries the scope; say why when it is online-only."""
    if scope in claims.scopes:
        return
    if claims.offline and scope in scopes_for(claims.role, offline=False):
        raise e.OnlineOnly(
            "this needs the link to central (PIN change, staff creation, member registration,"
            " card payment): wait until the banner shows online, log in again, and retry"
            " / オンライン時のみ可能です。回線復旧後に再ログインしてください",
            scope=scope.value,
        )
    raise e.RoleForbidden(
        f"the {claims.role.value} role may not do this / この操作の権限がありません",
        scope=scope.value,
        role=claims.role.value,
    )
